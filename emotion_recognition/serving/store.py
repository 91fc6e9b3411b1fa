"""The upload store: uploads and results on disk, which request owns each file, and how
long it may live.

Gradio saves an upload under a hash of its bytes, so requests with the same photo share
one file, and a client cannot tell the server which upload is "its own". So the store
counts uploads: every upload of a file entitles one request to it; a request claims one,
and when the last claim ends and no upload of that file awaits its request, the file is
deleted. A request never deletes anything else: not a file it was merely handed (an
example, a file the server fetched for it), and never a result. A request reads nothing
outside the store (nor a result): any other path gets one message, whether it exists or
not. Results go to a fresh, unguessable folder per request, so they are never shared nor
rewritten while a client downloads them. A sweeper deletes what no request claimed and
results past their time; a stopped server's folder is deleted at exit, or by the next
start if it crashed.
"""

from __future__ import annotations

import atexit
import fcntl
import logging
import os
import secrets
import shutil
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from emotion_recognition.core.errors import EmotionAppError
from emotion_recognition.core.limits import LIMITS, MB, Retention

log = logging.getLogger(__name__)
INSTANCE_PREFIX = "instance-"
RESULTS = "results"


NOT_AN_UPLOAD = "That file is not an upload: please upload a photo or video to analyse."


class UploadUnavailable(EmotionAppError):
    """The request names a file that is not (or no longer) an upload it may read."""


def default_base() -> Path:
    """Where every instance of the app keeps its folder (EMOTION_CACHE_DIR overrides)."""
    return Path(os.environ.get("EMOTION_CACHE_DIR")
                or Path(tempfile.gettempdir()) / "emotion-recognition-cache")


@dataclass
class _Upload:
    pending: int = 0      # uploads of this file whose request has not started
    active: int = 0       # requests reading it now
    uploaded_at: float = 0.0
    inode: int | None = None  # the file the last counted upload left at the path
    size: int = 0
    owners: list[str] = field(default_factory=list)  # who made each pending upload


class UploadBudget:
    """The disk that uploads no request has analysed yet may hold, in all and per client
    (LIMITS.unanalysed_upload_bytes*), counting uploads still arriving: an upload that
    would pass either budget is refused as its bytes arrive."""

    def __init__(self, total: int = LIMITS.unanalysed_upload_bytes,
                 per_client: int = LIMITS.unanalysed_upload_bytes_per_client):
        self.total, self.per_client = total, per_client
        self._arriving: dict[str, int] = {}

    def refusal(self, held: int, held_by_client: int, client: str, more: int) -> str | None:
        """Why ``more`` bytes from ``client`` do not fit (None if they do); they are
        counted as arriving if they do."""
        arriving = self._arriving.get(client, 0) + more
        if held_by_client + arriving > self.per_client:
            return (f"This address already has {self.per_client // MB} MB of uploads that "
                    "are not analysed yet: analyse them (or wait a few minutes, until they "
                    "are deleted) before uploading more.")
        if held + sum(self._arriving.values()) + more > self.total:
            return ("The server holds as many uploads waiting to be analysed as it can: "
                    "please try again in a few minutes.")
        self._arriving[client] = arriving
        return None

    def arrived(self, client: str, count: int) -> None:
        """``count`` bytes of ``client`` are no longer arriving (stored or refused)."""
        left = self._arriving.get(client, 0) - count
        if left > 0:
            self._arriving[client] = left
        else:
            self._arriving.pop(client, None)


class FileStore:
    """One server's folder: uploads (counted), results (one folder per request), sweeping."""

    def __init__(self, root: str | Path, retention: Retention | None = None, lock_handle=None,
                 budget: UploadBudget | None = None):
        self.root = Path(root).resolve()
        self.budget = budget or UploadBudget()
        self.results = self.root / RESULTS
        self.results.mkdir(parents=True, exist_ok=True)
        self.retention = retention or Retention.from_environment()
        self._lock = threading.Lock()
        self._uploads: dict[Path, _Upload] = {}
        self._reading: dict[Path, int] = {}     # files read that no upload of ours made
        self._writing: set[Path] = set()        # result folders of running requests
        self._finished: dict[Path, float] = {}  # result folder -> when its request ended
        self._protected: set[Path] = set()
        self._lock_handle = lock_handle
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None

    @classmethod
    def open(cls, base: str | Path | None = None,
             retention: Retention | None = None) -> "FileStore":
        """A fresh folder for this server under ``base``, locked while the process lives;
        folders of servers that died without cleaning up are deleted first."""
        base = Path(base or default_base())
        base.mkdir(parents=True, exist_ok=True)
        remove_dead_instances(base)
        name = f"{INSTANCE_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        handle = _hold_lock(base, name)
        (base / name).mkdir()
        store = cls(base / name, retention, handle)
        atexit.register(store.close)  # the folder never outlives its process
        return store

    # --- what enters: uploads (counted by the server) and public files ---------------------

    def note_uploads(self, paths: Iterable[str | Path], client: str = "") -> None:
        """Count one upload of each path by ``client`` (as the server's upload route
        answered it)."""
        now = time.time()
        with self._lock:
            for path in map(_absolute, paths):
                if (_is_inside(path, self.root) and not _is_inside(path, self.results)
                        and path not in self._protected):
                    entry = self._uploads.setdefault(path, _Upload())
                    entry.pending += 1
                    entry.uploaded_at = now
                    entry.inode = _inode(path)
                    entry.size = _size(path)
                    entry.owners.append(client)

    def upload_arriving(self, client: str, count: int) -> str | None:
        """``count`` more bytes of an upload of ``client`` are arriving: None if they fit the
        budget for unanalysed uploads (then counted until ``upload_arrived``), else why not."""
        with self._lock:
            held = [(e.size, e.owners) for e in self._uploads.values() if e.pending]
            return self.budget.refusal(sum(size for size, _ in held),
                                       sum(size * owners.count(client) for size, owners in held),
                                       client, count)

    def upload_arrived(self, client: str, count: int) -> None:
        with self._lock:
            self.budget.arrived(client, count)

    def protect(self, paths: Iterable[str | Path]) -> None:
        """Files any request may read and none may delete (the example photos)."""
        with self._lock:
            self._protected.update(map(_absolute, paths))

    @contextmanager
    def claim(self, path: str | Path) -> Iterator[Path]:
        """Read ``path`` for one request; when the request ends, delete it if it was an
        upload and no other request still needs it. Raises UploadUnavailable."""
        target = _absolute(path)
        with self._lock:
            kind = self._begin(target)
        try:
            yield target
        finally:
            with self._lock:
                self._end(target, kind)

    @contextmanager
    def peek(self, path: str | Path) -> Iterator[Path]:
        """Read ``path`` as ``claim`` would allow, without claiming it (a video's first frame,
        shown before the request that analyses it): it is kept for that request."""
        target = _absolute(path)
        with self._lock:
            kind = "public" if target in self._protected else "read"
            if kind == "read":
                self.check(target)
                self._reading[target] = self._reading.get(target, 0) + 1
        try:
            yield target
        finally:
            with self._lock:
                self._end(target, kind)

    def check(self, path: str | Path) -> None:
        """Raise UploadUnavailable unless ``path`` is a file a request may read: an upload in
        this store (not a result) or a protected file. Outside the store, one message for
        every path, whether it exists or not."""
        target = _absolute(path)
        if target in self._protected:
            return
        if not _is_inside(target, self.root) or _is_inside(target, self.results):
            raise UploadUnavailable(NOT_AN_UPLOAD)
        if not target.is_file():
            raise UploadUnavailable(
                "This upload is no longer on the server: uploads are deleted once analysed "
                f"(or after {self.retention.unused_upload_s / 60:g} minutes). "
                "Please upload it again.")

    def _begin(self, target: Path) -> str:
        if target in self._protected:
            return "public"
        self.check(target)
        entry = self._uploads.get(target)
        if entry is None:  # in the cache but not an upload we counted (e.g. fetched from a link)
            self._reading[target] = self._reading.get(target, 0) + 1
            return "read"
        entry.active += 1
        entry.pending = max(entry.pending - 1, 0)
        if entry.owners:
            entry.owners.pop(0)
        return "upload"

    def _end(self, target: Path, kind: str) -> None:
        if kind == "read":
            self._reading[target] -= 1
            if not self._reading[target]:
                del self._reading[target]
        elif kind == "upload":
            entry = self._uploads[target]
            entry.active -= 1
            if entry.active == 0 and entry.pending == 0:
                del self._uploads[target]
                if _inode(target) == entry.inode:  # else an upload not yet counted replaced it
                    target.unlink(missing_ok=True)

    # --- what leaves: results --------------------------------------------------------------

    @contextmanager
    def result_dir(self) -> Iterator[Path]:
        """A new folder, private to one request, for the files it returns."""
        folder = self.results / secrets.token_urlsafe(16)
        folder.mkdir()
        with self._lock:
            self._writing.add(folder)
        try:
            yield folder
        except BaseException:  # a failed request returns nothing: keep nothing of it
            shutil.rmtree(folder, ignore_errors=True)
            raise
        finally:
            with self._lock:
                self._writing.discard(folder)
                self._finished[folder] = time.time()

    # --- sweeping and stopping -------------------------------------------------------------

    def sweep(self, now: float | None = None) -> list[Path]:
        """Delete what has outlived its retention time (deadline minus one sweep period, so
        the promise holds between sweeps); return what was deleted."""
        now = time.time() if now is None else now
        slack = self.retention.sweep_every_s
        upload_age = max(self.retention.unused_upload_s - slack, 0)
        result_age = max(self.retention.result_s - slack, 0)
        with self._lock:
            deleted = self._sweep_uploads(now, upload_age) + self._sweep_results(now, result_age)
            deleted += self._sweep_other(now, upload_age, slack)
        if deleted:
            log.debug("swept %d old file(s)", len(deleted))
        return deleted

    def _sweep_uploads(self, now: float, age: float) -> list[Path]:
        expired = [p for p, e in self._uploads.items()
                   if not e.active and now - e.uploaded_at >= age]
        for path in expired:
            del self._uploads[path]
            path.unlink(missing_ok=True)
        return expired

    def _sweep_results(self, now: float, age: float) -> list[Path]:
        deleted = []
        for folder in list(self.results.iterdir()):
            if folder in self._writing:
                continue
            finished = self._finished.get(folder) or _mtime(folder)
            if finished is not None and now - finished >= age:
                shutil.rmtree(folder, ignore_errors=True)
                self._finished.pop(folder, None)
                deleted.append(folder)
        return deleted

    def _sweep_other(self, now: float, age: float, empty_age: float) -> list[Path]:
        """Files no request counted (unclaimed server fetches, abandoned partial uploads,
        Gradio's own outputs) and folders left empty."""
        deleted = []
        keep = self._protected | set(self._uploads) | set(self._reading)
        for folder, subfolders, names in os.walk(self.root, topdown=False):
            folder = Path(folder)
            if _is_inside(folder, self.results):
                continue
            for name in names:
                path = folder / name
                changed = _mtime(path)
                if path not in keep and changed is not None and now - changed >= age:
                    path.unlink(missing_ok=True)
                    deleted.append(path)
            changed = _mtime(folder)
            if (folder != self.root and changed is not None and now - changed >= empty_age
                    and not any(folder.iterdir())):
                folder.rmdir()
        return deleted

    def start_sweeper(self) -> None:
        """Sweep every ``retention.sweep_every_s`` seconds in a daemon thread."""
        if self._sweeper is None:
            self._sweeper = threading.Thread(target=self._sweep_forever, name="file-sweeper",
                                             daemon=True)
            self._sweeper.start()

    def _sweep_forever(self) -> None:
        while not self._stop.wait(self.retention.sweep_every_s):
            try:
                self.sweep()
            except Exception:  # noqa: BLE001 - a real fault, logged; the sweeper keeps sweeping
                log.exception("sweeping %s failed", self.root)

    def close(self) -> None:
        """Delete everything of this server (at stop); safe to call twice."""
        self._stop.set()
        shutil.rmtree(self.root, ignore_errors=True)
        if self._lock_handle is not None:
            lock = self.root.parent / f"{self.root.name}.lock"
            lock.unlink(missing_ok=True)
            self._lock_handle.close()
            self._lock_handle = None


def remove_dead_instances(base: Path) -> list[Path]:
    """Delete the folders of servers under ``base`` that no live process holds locked."""
    removed = []
    for lock in base.glob(f"{INSTANCE_PREFIX}*.lock"):
        try:
            handle = open(lock, "a+")
        except OSError:
            continue
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # alive
            shutil.rmtree(base / lock.stem, ignore_errors=True)
            lock.unlink(missing_ok=True)
            removed.append(base / lock.stem)
    for folder in base.glob(f"{INSTANCE_PREFIX}*"):
        if folder.is_dir() and not (base / f"{folder.name}.lock").exists():
            shutil.rmtree(folder, ignore_errors=True)  # its lock was removed before the folder
            removed.append(folder)
    for staging in base.glob(".starting-*"):  # a start-up that died between two lines
        changed = _mtime(staging)
        if changed is not None and time.time() - changed > 60:
            staging.unlink(missing_ok=True)
    return removed


def _hold_lock(base: Path, name: str):
    """Create ``name.lock`` already locked (locked under a temporary name, then renamed), so
    another server's start-up never sees it unlocked."""
    fd, staging = tempfile.mkstemp(dir=base, prefix=".starting-")
    handle = os.fdopen(fd, "a+")
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.rename(staging, base / f"{name}.lock")
    return handle


def _absolute(path: str | Path) -> Path:
    """The path with "..", "." and symbolic links resolved (what a read would open)."""
    return Path(os.path.realpath(path))


def _is_inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except FileNotFoundError:
        return None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _mtime(path: Path) -> float | None:
    try:
        return path.lstat().st_mtime
    except FileNotFoundError:
        return None
