"""What the README promises about concurrent requests and privacy, checked against the real
app (python app.py) with retention times shortened through the environment."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image

from benchmarks.app_server import AppServer
from conftest import EXAMPLES, face_patch, write_video
from emotion_recognition.core.limits import LIMITS, Retention

pytestmark = pytest.mark.app

KEEP_UPLOADS_S, KEEP_RESULTS_S, SWEEP_S = 6, 8, 1
RETENTION_ENV = {"EMOTION_KEEP_UPLOADS_S": str(KEEP_UPLOADS_S),
                 "EMOTION_KEEP_RESULTS_S": str(KEEP_RESULTS_S),
                 "EMOTION_SWEEP_EVERY_S": str(SWEEP_S)}


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache_base")


@pytest.fixture(scope="module")
def server(base, tmp_path_factory):
    env = {**RETENTION_ENV, "EMOTION_CACHE_DIR": str(base)}
    with AppServer(tmp_path_factory.mktemp("log") / "app.log", env) as app:
        yield app


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    """A photo that is not one of the examples (those are public and never deleted)."""
    path = tmp_path_factory.mktemp("photos") / "shared_photo.jpg"
    Image.open(EXAMPLES / "three_faces.jpg").rotate(2).save(path, quality=92)
    return path


def _client(server, **options):
    from gradio_client import Client

    return Client(server.url, verbose=False, **options)


def _files(base: Path, name: str) -> list[Path]:
    return [p for p in base.rglob(name) if p.is_file()]


def test_sixteen_clients_sending_one_photo_all_get_its_faces(server, base, photo):
    from gradio_client import handle_file

    answers, errors = [], []

    def client_requests():
        client = _client(server)
        for _ in range(2):
            try:
                annotated, faces, _ = client.predict(handle_file(str(photo)), "emotion7",
                                                     api_name="/analyze")
                answers.append((Image.open(annotated).size, [f["box"] for f in faces]))
            except Exception as error:  # noqa: BLE001 - counted, shown below
                errors.append(repr(error))

    threads = [threading.Thread(target=client_requests) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(answers) == 32 and len({json.dumps(a) for a in answers}) == 1
    assert answers[0][0] == Image.open(photo).size and len(answers[0][1]) == 3
    assert _files(base, photo.name) == []  # every upload went with its last request


def test_identical_requests_get_their_own_result_files(server):
    from gradio_client import handle_file

    client = _client(server, download_files=False)
    first, *_ = client.predict(handle_file(str(EXAMPLES / "astronaut.jpg")), "emotion7",
                              api_name="/analyze")
    second, *_ = client.predict(handle_file(str(EXAMPLES / "astronaut.jpg")), "emotion7",
                               api_name="/analyze")
    assert first["path"] != second["path"]  # never rewritten under another download
    for result in (first, second):
        answer = httpx.get(f"{server.url}gradio_api/file={result['path']}")
        assert answer.status_code == 200 and answer.content[:2] == b"\xff\xd8"  # a whole JPEG


def test_two_clients_sending_one_clip_both_get_answers(server, tmp_path):
    from gradio_client import handle_file

    clip = write_video(tmp_path / "shared_clip.mp4", frames=20, fps=10)
    summaries, errors = [], []

    def request():
        try:
            summaries.append(_client(server).predict(handle_file(str(clip)), "emotion4", 5,
                                                     api_name="/analyze_video")[2])
        except Exception as error:  # noqa: BLE001
            errors.append(repr(error))

    threads = [threading.Thread(target=request) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and [s["frames_analysed"] for s in summaries] == [10, 10]


def test_a_client_cannot_name_a_result_to_read_or_delete_it(server):
    from gradio_client import handle_file

    client = _client(server, download_files=False)
    result, *_ = client.predict(handle_file(str(EXAMPLES / "grace_hopper.jpg")), "emotion7",
                               api_name="/analyze")
    named = {"path": result["path"], "meta": {"_type": "gradio.FileData"}}
    kind, payload = server.call("analyze", [named, "emotion7", False])  # image, set, explain
    assert kind == "error" and "not an upload" in json.dumps(payload)
    assert Path(result["path"]).is_file()
    assert httpx.get(f"{server.url}gradio_api/file={result['path']}").status_code == 200


def test_nothing_outlives_its_promise(server, base, photo, tmp_path):
    never_analysed = server.upload(photo.read_bytes(), photo.name)
    refused_photo = server.upload(photo.read_bytes(), photo.name)
    clip = write_video(tmp_path / "refused.mp4", frames=10, fps=10)
    refused_video = server.upload(clip.read_bytes(), clip.name)
    for name, data in (("analyze", [{"path": refused_photo, "meta": {"_type": "gradio.FileData"}},
                                    "emotion9", False]),
                       ("analyze_video", [{"path": refused_video,
                                           "meta": {"_type": "gradio.FileData"}}, "emotion7", 99])):
        kind, _ = server.call(name, data)
        assert kind == "error", name
    assert Path(never_analysed).is_file()
    time.sleep(max(KEEP_UPLOADS_S, KEEP_RESULTS_S) + 2 * SWEEP_S)
    for path in (never_analysed, refused_photo, refused_video):
        assert not Path(path).exists(), path
    instance = next(base.glob("instance-*/"))
    left = sorted(str(p.relative_to(instance)) for p in instance.rglob("*")
                  if p.is_file() or not any(p.iterdir()))
    examples = {p.name for p in EXAMPLES.glob("*.jpg")}
    assert [p for p in left if Path(p).name not in examples and p != "results"] == []


def test_live_frames_are_answered_in_memory_for_the_page_own_session_only(server, base):
    import uuid

    import cv2
    import numpy as np

    frame = np.full((480, 640, 3), 100, np.uint8)
    frame[120:320, 200:400] = face_patch(200)
    jpeg = cv2.imencode(".jpg", frame[..., ::-1])[1].tobytes()
    before = {p for p in base.rglob("*") if p.is_file()}

    def post(session: str, body: bytes) -> httpx.Response:
        return httpx.post(f"{server.url}live/frame", params={"session": session}, content=body,
                          headers={"Content-Type": "image/jpeg"}, timeout=60)

    answer = post(uuid.uuid4().hex, jpeg)
    assert answer.status_code == 200 and answer.content[:2] == b"\xff\xd8"  # an annotated JPEG
    annotated = cv2.imdecode(np.frombuffer(answer.content, np.uint8), cv2.IMREAD_COLOR)
    assert annotated.shape == frame.shape
    refused = post("../results", jpeg)
    assert refused.status_code == 400 and "not valid" in refused.text
    refused = post(uuid.uuid4().hex, b"not a frame")
    assert refused.status_code == 400 and "JPEG" in refused.text
    assert {p for p in base.rglob("*") if p.is_file()} - before == set()  # nothing written


def test_user_errors_are_one_line_each(server, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    text = tmp_path / "notes.jpg"
    text.write_text("not a photo")
    with pytest.raises(AppError, match="not an image"):
        _client(server).predict(handle_file(str(text)), "emotion7", api_name="/analyze")
    time.sleep(0.5)
    log = server.log()
    assert "user error in analyze: This file is not an image" in log
    assert "Traceback" not in log


def test_limits_and_promise_are_what_the_server_uses_and_shows(server):
    client = _client(server)
    assert client.config["max_file_size"] == LIMITS.upload_bytes
    page = json.dumps(client.config, ensure_ascii=False)
    assert LIMITS.video_text() in page and LIMITS.photo_text() in page
    assert Retention(KEEP_UPLOADS_S, KEEP_RESULTS_S, SWEEP_S).privacy_text() in page


def test_nothing_survives_a_crash_restart_or_sigterm(tmp_path):
    from gradio_client import handle_file

    base, env = tmp_path / "base", {**RETENTION_ENV, "EMOTION_CACHE_DIR": str(tmp_path / "base")}
    crashed = AppServer(tmp_path / "crashed.log", env).start()
    _client(crashed).predict(handle_file(str(EXAMPLES / "astronaut.jpg")), "emotion7",
                             api_name="/analyze")
    crashed.stop(signal.SIGKILL)
    left = list(base.glob("instance-*/"))
    assert len(left) == 1 and any(left[0].rglob("annotated.jpg"))  # a crash cleans nothing
    with AppServer(tmp_path / "restarted.log", env) as restarted:
        assert not left[0].exists()  # the next start-up did
        _client(restarted).predict(handle_file(str(EXAMPLES / "astronaut.jpg")), "emotion7",
                                   api_name="/analyze")
        assert any(base.rglob("annotated.jpg"))
        assert restarted.stop(signal.SIGTERM) == 0
    assert list(base.iterdir()) == []
