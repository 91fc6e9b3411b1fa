"""The server's live sessions, by the random id each page makes for itself, within limits:
at most LIMITS.live_sessions_per_client per client and LIMITS.live_sessions in all (the
last LIMITS.live_sessions_for_newcomers of them only for clients that hold none), checked
before a frame is decoded and made only for a frame found valid, forgotten Retention.live_session_s after their last
use, and searching for faces with a pool of LIMITS.live_workers detectors (not one each)."""

from __future__ import annotations

import re
import threading
import time

from emotion_recognition.core.detection.detectors import check_detector
from emotion_recognition.core.detection.pool import DetectorPool
from emotion_recognition.core.errors import VideoError
from emotion_recognition.core.limits import LIMITS, Retention, duration_words
from emotion_recognition.live.session import LiveSession, stream_detector

LIVE_SESSION_ID = re.compile(r"[0-9a-f]{32}")
# A running page sends frames many times a second: a session unused this long was stopped,
# reloaded or closed, and gives its place to a new session of the same address at its limit
# (a reload must not lock a person out for Retention.live_session_s)
IDLE_S = 10.0


class LiveSessions:
    """This server's live sessions (so a page reaches only its own), in memory only."""

    def __init__(self, ttl_s: float = Retention().live_session_s,
                 max_sessions: int = LIMITS.live_sessions,
                 per_client: int = LIMITS.live_sessions_per_client, idle_s: float = IDLE_S,
                 for_newcomers: int = LIMITS.live_sessions_for_newcomers):
        self.ttl_s, self.max_sessions, self.per_client = ttl_s, max_sessions, per_client
        self.for_newcomers = min(for_newcomers, max_sessions // 8)  # an eighth at most
        self.idle_s = idle_s
        self._sessions: dict[str, tuple[LiveSession, float]] = {}
        self._lock = threading.Lock()
        self._pools: dict[str, DetectorPool] = {}

    def pool(self, detector_name: str) -> DetectorPool:
        """The sessions' shared detectors of that name (LIMITS.live_workers at most)."""
        name = check_detector(detector_name)
        with self._lock:
            if name not in self._pools:
                self._pools[name] = DetectorPool(LIMITS.live_workers,
                                                 make=lambda: stream_detector(name))
            return self._pools[name]

    @staticmethod
    def check_id(session_id: str | None) -> str:
        """The id, if it is one a page makes (32 hex digits); VideoError otherwise."""
        if not isinstance(session_id, str) or not LIVE_SESSION_ID.fullmatch(session_id):
            raise VideoError("This page's live session id is not valid: please reload it.")
        return session_id

    def get(self, session_id: str | None, create: bool = False,
            client: str = "") -> LiveSession | None:
        """The session of that id (made for ``client`` if ``create``), or None; either way,
        it is used now. VideoError when a new one would be over a limit."""
        if create:
            self.check_id(session_id)
        elif not isinstance(session_id, str) or not LIVE_SESSION_ID.fullmatch(session_id):
            return None
        now = time.monotonic()
        with self._lock:
            self._forget_expired(now)
            session = self._sessions.get(session_id, (None, 0.0))[0]
            if session is None and create:
                session = self._new(client, now)
            if session is not None:
                self._sessions[session_id] = (session, now)
            return session

    def admit(self, session_id: str | None, client: str) -> None:
        """Check, before a frame is decoded, that it has a session: its own, or a new one
        ``client`` may have now (VideoError otherwise); nothing is made or used."""
        self.check_id(session_id)
        now = time.monotonic()
        with self._lock:
            self._forget_expired(now)
            if session_id not in self._sessions:
                self._room_for(client, now)

    def _forget_expired(self, now: float) -> None:
        for key, (_, used) in list(self._sessions.items()):
            if now - used > self.ttl_s:
                del self._sessions[key]

    def _new(self, client: str, now: float) -> LiveSession:
        """A session for ``client`` (under the lock)."""
        oldest = self._room_for(client, now)
        if oldest is not None:
            del self._sessions[oldest]
        return LiveSession(client=client, detectors=self.pool)

    def _room_for(self, client: str, now: float) -> str | None:
        """Whether ``client`` may have one more session (VideoError if not); at its limit,
        its longest-idle session gives way if it has been idle IDLE_S: that one's id. The
        last free places are kept for clients that hold none (under the lock)."""
        mine = sorted((used, key) for key, (s, used) in self._sessions.items()
                      if s.client == client)
        if len(mine) >= self.per_client:
            used, oldest = mine[0]
            if now - used < self.idle_s:
                raise VideoError(f"This address already has {self.per_client} live sessions "
                                 f"running: stop one (a stopped one gives way after "
                                 f"{duration_words(self.idle_s)}) before starting another.")
            return oldest
        free = self.max_sessions - len(self._sessions)
        if free <= 0 or (mine and free <= self.for_newcomers):
            raise VideoError("Too many live sessions right now: please try again soon.")
        return None

    def end(self, session_id: str, client: str) -> None:
        """A page's previous session, which it replaced by a new one (a Start after a
        Stop), is forgotten at once (it no longer holds one of its client's places)."""
        with self._lock:
            session = self._sessions.get(session_id, (None, 0.0))[0]
            if session is not None and session.client == client:
                del self._sessions[session_id]

    def __len__(self) -> int:
        return len(self._sessions)
