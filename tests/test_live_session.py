"""A live session as the server runs it (issues 24 and 25): frames taken in the order they
were captured and never tracked backwards, a row per analysed frame (a no_face row when
none) from 0, boxes in the camera's own frame, a restart that is a new session, and an
empty room searched no more often than a followed face is."""

from __future__ import annotations

import csv
import io
import re
import threading
import time
from functools import partial
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from conftest import face_patch
from emotion_recognition.live.session import (EMPTY_SEARCH_EVERY, FULL_SEARCH_EVERY, InOrder,
                                              LiveSession, stream_detector)
from emotion_recognition.live.sessions import LiveSessions

pytestmark = pytest.mark.unit
ID, OTHER = "a" * 32, "b" * 32


def frame_with_face(x: int = 50) -> np.ndarray:
    frame = np.full((480, 640, 3), 100, np.uint8)
    frame[100:300, x:x + 200] = face_patch(200)
    return frame


EMPTY = np.full((480, 640, 3), 100, np.uint8)


def test_a_frame_captured_before_the_last_analysed_is_dropped(recognizer):
    """The page keeps three frames in flight: one that arrives after a later one was
    analysed must not move the face back in time (nor the clock)."""
    session = LiveSession()
    sent = [(0, 0.0, 50), (2, 0.2, 70), (1, 0.1, 60), (3, 0.3, 80), (3, 0.35, 90)]
    answers = [session.process(frame_with_face(x), recognizer, captured_s=t, sequence=n)
               for n, t, x in sent]
    assert [a is not None for a in answers] == [True, True, False, True, False]
    assert [r.time for r in session.records] == [0.0, pytest.approx(0.2), pytest.approx(0.3)]
    assert [r.face.box.x > 0 for r in session.records] == [True] * 3
    xs = [r.face.box.x for r in session.records]
    assert xs == sorted(xs)  # never tracked backwards
    assert session.process(frame_with_face(), recognizer, captured_s=0.29) is None  # no number


def test_frames_wait_their_turn_earliest_first():
    """A plain lock lets any waiting thread in: frames 3, 1, 2 waiting while frame 0 is
    analysed must go 1, 2, 3."""
    order, turns = [], InOrder()

    def frame(key: int) -> None:
        with turns.turn(key):
            order.append(key)

    with turns.turn(0):
        threads = [threading.Thread(target=frame, args=(key,)) for key in (3, 1, 2)]
        for thread in threads:
            thread.start()
            time.sleep(0.05)
    for thread in threads:
        thread.join(5)
    assert order == [1, 2, 3]


def test_the_rows_are_a_row_per_analysed_frame_from_0_with_no_face_rows(recognizer):
    """Issue 25: the 5 s without a face had no rows, and a restart went on with the old
    clock: a row per analysed frame, from 0 on the session's first frame."""
    session = LiveSession()
    frames = [frame_with_face(), EMPTY, EMPTY, *[frame_with_face()] * EMPTY_SEARCH_EVERY]
    for n, frame in enumerate(frames):
        session.process(frame, recognizer, captured_s=12.5 + n / 10, sequence=n)
    rows = session.rows()
    statuses = [r["status"] for r in rows]
    assert statuses[:3] == ["face", "no_face", "no_face"] and statuses[-1] == "face"
    assert [r["frame"] for r in rows] == list(range(len(frames)))
    assert [r["time_s"] for r in rows] == [pytest.approx(n / 10) for n in range(len(frames))]
    assert [r["face_count"] for r in rows][:3] == [1, 0, 0]
    assert {r["face"] for r in rows if r["status"] == "face"} == {1}


def test_a_mirrored_view_s_boxes_are_given_in_the_camera_s_own_frame(recognizer):
    """The page sends a mirror (as people see themselves): the annotated view is drawn on
    it as it is, the session's rows give the boxes of the camera's own frame."""
    mirrored_view = frame_with_face(50)
    shown = LiveSession().process(mirrored_view, recognizer, mirrored=True)[1][0].box
    session = LiveSession()
    session.process(mirrored_view, recognizer, captured_s=0.0, sequence=0, mirrored=True)
    row = session.rows()[0]
    assert row["x"] == 640 - shown.x - shown.w and row["x"] > 320  # on the right, unmirrored
    assert (row["y"], row["w"], row["h"]) == (shown.y, shown.w, shown.h)
    own = LiveSession().process(np.ascontiguousarray(mirrored_view[:, ::-1]), recognizer)
    assert abs(own[1][0].box.x - row["x"]) <= 6  # where a search of the camera's frame finds it


class CountingSearch:
    """A stand-in detector: no face anywhere; counts the searches of whole frames."""

    def __init__(self):
        self.whole = 0

    def detect(self, grey):
        self.whole += grey.shape == (480, 640)
        return []


def test_an_empty_room_is_searched_every_few_frames_not_every_frame(recognizer):
    """Issue 25: 3-4 frames a second with nobody in view, 19-25 with a face. A 640x480
    room searched whole on every frame cost 0.55 s a frame (the Haar fallbacks: 0.45 s)."""
    search = CountingSearch()
    session = LiveSession(detectors=lambda name: search)
    for n in range(4 * EMPTY_SEARCH_EVERY):
        session.process(EMPTY, recognizer, captured_s=n / 25, sequence=n)
    assert search.whole == 4 and EMPTY_SEARCH_EVERY <= FULL_SEARCH_EVERY
    assert len(session.rows()) == 4 * EMPTY_SEARCH_EVERY  # each frame still has its row
    streamed = stream_detector("haar")
    assert streamed.haar._fallbacks == [] and stream_detector("blazeface") is not None


def test_a_face_entering_an_empty_room_is_found_within_a_few_frames(recognizer):
    session = LiveSession()
    for n in range(6):
        session.process(EMPTY, recognizer, captured_s=n / 25, sequence=n)
    found = [len(session.process(frame_with_face(), recognizer, captured_s=(6 + n) / 25,
                                 sequence=6 + n)[1]) for n in range(EMPTY_SEARCH_EVERY + 1)]
    assert found[-1] == 1 and found.index(1) < EMPTY_SEARCH_EVERY


def test_a_new_start_ends_the_page_s_previous_session_only():
    sessions = LiveSessions(ttl_s=60, per_client=2)
    sessions.get(ID, create=True, client="10.0.0.1")
    sessions.end(ID, "10.0.0.9")  # not its own: kept
    assert sessions.get(ID) is not None
    sessions.end(ID, "10.0.0.1")
    assert sessions.get(ID) is None and len(sessions) == 0


def jpeg(rgb: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", rgb[..., ::-1])[1].tobytes()


@pytest.fixture
def live_client(recognizer):
    """The live route in a Starlette app of its own, on a stand-in server."""
    from starlette.applications import Starlette
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from emotion_recognition.core.limits import LIMITS
    from emotion_recognition.serving.clients import PerClient, Share
    from emotion_recognition.serving.live import live_frame_route

    server = SimpleNamespace(recognizer=recognizer, live_sessions=LiveSessions(),
                             live_workers=threading.BoundedSemaphore(4),
                             live_pixels=Share(LIMITS.live_pixels_at_once),
                             live_clients=PerClient(4, LIMITS.live_frames_at_once))
    app = Starlette(routes=[Route("/live/frame", partial(live_frame_route, server),
                                  methods=["POST"])])
    with TestClient(app) as client:
        client.server = server
        yield client


def test_the_live_route_drops_a_frame_sent_out_of_order(live_client):
    def post(seq, t, x, session=ID, **more):
        return live_client.post("/live/frame", content=jpeg(frame_with_face(x)),
                                params={"session": session, "seq": seq, "t": t,
                                        "mirrored": 1, **more})

    answers = [post(0, "1000.0", 50), post(2, "1200.5", 80), post(1, "1100.0", 65),
               post(3, "1300", 95)]
    assert [a.status_code for a in answers] == [200, 200, 204, 200]
    assert answers[2].content == b"" and answers[3].headers["x-faces"] == "1"
    session = live_client.server.live_sessions.get(ID)
    rows = session.rows()
    assert [r["frame"] for r in rows] == [0, 1, 2]
    assert [r["time_s"] for r in rows] == [0.0, 0.2, 0.3]  # the page's capture times, from 0
    xs = [r["x"] for r in rows]
    assert xs == sorted(xs, reverse=True)  # unmirrored: moving left, never back
    for bad in ({"seq": "-1"}, {"t": "nan"}, {"seq": "1.5"}, {"mirrored": "2"},
                {"replaces": "../x"}, {"t": "1e9"}):
        answer = live_client.post("/live/frame", content=jpeg(EMPTY),
                                  params={"session": ID, **bad})
        assert answer.status_code == 400 and "not valid" in answer.text, bad
    restarted = post(0, "5.0", 50, session=OTHER, replaces=ID)
    assert restarted.status_code == 200
    assert live_client.server.live_sessions.get(ID) is None  # the old session ended
    assert live_client.server.live_sessions.get(OTHER).rows()[0]["time_s"] == 0.0


def test_the_live_csv_has_its_no_face_rows(live_client, tmp_path):
    from contextlib import contextmanager

    from emotion_recognition.serving.live import session_csv

    frames = [frame_with_face(), EMPTY, *[frame_with_face()] * EMPTY_SEARCH_EVERY]
    for n, frame in enumerate(frames):
        live_client.post("/live/frame", content=jpeg(frame),
                         params={"session": ID, "seq": n, "t": 40 * n})

    @contextmanager
    def result_dir():
        yield tmp_path

    live_client.server.files = SimpleNamespace(result_dir=result_dir)
    with open(session_csv(live_client.server, ID)) as handle:
        rows = list(csv.DictReader(io.StringIO(handle.read())))
    assert [(r["status"], r["time_s"], r["face"]) for r in rows[:2]] == [
        ("face", "0.0", "1"), ("no_face", "0.04", "")]
    assert (rows[-1]["status"], rows[-1]["face"]) == ("face", "1")
    assert len(rows) == 2 + EMPTY_SEARCH_EVERY


def test_adding_a_session_of_several_faces_names_them_and_of_one_face_adds(recognizer):
    """Issue 25: "pick which is yours" came with an empty list."""
    from emotion_recognition.serving.journal import add_live

    server = SimpleNamespace(live_sessions=LiveSessions())
    two = server.live_sessions.get(ID, create=True, client="10.0.0.1")
    pair = frame_with_face(20)
    pair[100:300, 400:600] = face_patch(200)
    for n in range(3):
        two.process(pair, recognizer, captured_s=n * 0.5, sequence=n)
    change = add_live(server, ID, None, "", [], None)
    assert change.entries is None and "pick which is yours" in change.message
    names = [name for name, _ in change.pick_from]
    assert [re.fullmatch(rf"Face {n}: mostly [a-z]+, 1 s in view", name) is not None
            for n, name in zip((1, 2), names)] == [True, True], names
    assert [face_id for _, face_id in change.pick_from] == [1, 2]
    picked = add_live(server, ID, 2, "", [], None)
    assert picked.entries is not None and len(picked.entries) == 1
    one = server.live_sessions.get(OTHER, create=True, client="10.0.0.1")
    one.process(frame_with_face(), recognizer)
    assert add_live(server, OTHER, None, "", [], None).entries is not None
