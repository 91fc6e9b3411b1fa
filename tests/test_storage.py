"""FileStore: who may delete what, and when; no Gradio, no server (see test_privacy.py)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading

import pytest

from emotion_recognition.core.limits import LIMITS, Retention
from emotion_recognition.serving.store import FileStore, UploadUnavailable, remove_dead_instances

pytestmark = pytest.mark.unit

RETENTION = Retention(unused_upload_s=60, result_s=120, sweep_every_s=10)


@pytest.fixture
def store(tmp_path):
    store = FileStore.open(tmp_path / "cache", RETENTION)
    yield store
    store.close()


def _upload(store, name="photo.jpg", data=b"same bytes", folder="hash1"):
    """What Gradio's upload route does: write to a temp file, rename into a hash folder."""
    path = store.root / folder / name
    path.parent.mkdir(exist_ok=True)
    staging = store.root / f"tmp{os.urandom(4).hex()}"
    staging.write_bytes(data)
    os.rename(staging, path)
    return path


def test_identical_uploads_each_serve_their_own_request_then_go(store):
    path = _upload(store)
    store.note_uploads([str(path)] * 3)  # three clients sent the same photo
    with store.claim(path):
        with store.claim(path):
            pass
        assert path.exists()  # the first request is still reading it
    assert path.exists()  # the third upload's request has not come yet
    with store.claim(path) as mine:
        assert mine.read_bytes() == b"same bytes"
    assert not path.exists()


def test_concurrent_requests_with_one_photo_all_read_it(store):
    path = _upload(store)
    store.note_uploads([str(path)] * 16)
    barrier, read = threading.Barrier(16), []

    def request():
        barrier.wait()
        with store.claim(path) as mine:
            read.append(mine.read_bytes())

    threads = [threading.Thread(target=request) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert read == [b"same bytes"] * 16 and not path.exists()


def test_an_upload_that_replaced_the_file_before_it_was_counted_survives(store):
    path = _upload(store)
    store.note_uploads([str(path)])
    with store.claim(path):
        _upload(store)  # another client's identical upload lands; its answer is not out yet
    assert path.exists()
    store.note_uploads([str(path)])
    with store.claim(path):
        pass
    assert not path.exists()


def test_a_request_deletes_only_uploads(store):
    with store.result_dir() as out:
        result = out / "annotated.jpg"
        result.write_bytes(b"someone's result")
    with pytest.raises(UploadUnavailable, match="not an upload"):
        with store.claim(result):
            pass
    fetched = store.root / "hash2" / "from_a_link.jpg"  # in the cache, never counted
    fetched.parent.mkdir()
    fetched.write_bytes(b"x")
    example = store.root / "hash3" / "astronaut.jpg"
    example.parent.mkdir()
    example.write_bytes(b"public")
    store.protect([example])
    store.note_uploads([str(example)])  # someone uploaded the example photo itself
    for path in (fetched, example):
        with store.claim(path) as mine:
            assert mine.read_bytes()
    assert result.exists() and fetched.exists() and example.exists()


def test_nothing_outside_the_store_is_read_and_the_refusal_says_nothing_of_what_exists(
        store, tmp_path):
    from emotion_recognition.serving.store import NOT_AN_UPLOAD

    secret = tmp_path / "secret.jpg"
    secret.write_bytes(b"private")
    upload = _upload(store)
    link = store.root / "hash9" / "link.jpg"  # a link inside the store to a file outside it
    link.parent.mkdir()
    link.symlink_to(secret)
    named = [secret, tmp_path / "no_such_file.jpg", tmp_path, "/etc/passwd", link,
             store.root / ".." / "secret.jpg", f"{upload.parent}/../../../secret.jpg"]
    same_message = f"^{re.escape(NOT_AN_UPLOAD)}$"
    for path in named:
        for read in (store.claim, store.peek):
            with pytest.raises(UploadUnavailable, match=same_message):
                with read(path):
                    pass
        with pytest.raises(UploadUnavailable, match=same_message):
            store.check(path)
    assert secret.read_bytes() == b"private"


def test_a_peek_leaves_the_upload_for_the_request_that_analyses_it(store):
    path = _upload(store)
    store.note_uploads([str(path)])
    with store.peek(path) as seen:
        assert seen.read_bytes() == b"same bytes"
    assert path.exists()
    with store.claim(path):
        pass
    assert not path.exists()


def test_the_sweeper_survives_any_error(store, monkeypatch):
    import time

    calls = []

    def failing_sweep(now=None):
        calls.append(now)
        raise RuntimeError("a bug")

    monkeypatch.setattr(store, "sweep", failing_sweep)
    store.retention = Retention(sweep_every_s=0.05)
    store.start_sweeper()
    time.sleep(0.4)
    assert len(calls) >= 2 and store._sweeper.is_alive()


def test_a_gone_upload_gets_a_clear_message(store):
    path = _upload(store)
    store.note_uploads([str(path)])
    with store.claim(path):
        pass
    with pytest.raises(UploadUnavailable, match="upload it again"):
        with store.claim(path):
            pass


def test_results_get_private_unguessable_folders_and_failures_keep_nothing(store):
    with store.result_dir() as first, store.result_dir() as second:
        assert first != second and first.parent == second.parent == store.results
        assert len(first.name) >= 20
        (first / "a.csv").write_text("x")
    with pytest.raises(RuntimeError):
        with store.result_dir() as failed:
            (failed / "partial.mp4").write_bytes(b"x")
            raise RuntimeError("the job broke")
    assert not failed.exists() and (first / "a.csv").exists()


def test_sweep_keeps_promises_between_sweeps(store):
    now = __import__("time").time()
    unused = _upload(store, "never_analysed.jpg", folder="h4")
    store.note_uploads([str(unused)])
    in_use = _upload(store, "long_video.mp4", folder="h5")
    store.note_uploads([str(in_use)])
    partial = store.root / "tmp_partial_upload"
    partial.write_bytes(b"abandoned")
    with store.result_dir() as out:
        (out / "result.csv").write_text("x")
    with store.claim(in_use):
        assert store.sweep(now + 1) == []  # nothing is old yet
        # one sweep period before each deadline, everything past it goes
        store.sweep(now + RETENTION.unused_upload_s - RETENTION.sweep_every_s + 1)
        assert not unused.exists() and not partial.exists()
        assert in_use.exists() and out.exists()  # read by a request / not yet due
        store.sweep(now + RETENTION.result_s - RETENTION.sweep_every_s + 1)
        assert not out.exists()
    store.sweep(now + 10 * RETENTION.result_s)
    leftovers = [p for p in store.root.rglob("*") if p != store.results]
    assert leftovers == []  # files and the folders they left empty


def test_a_dead_servers_folder_is_removed_at_start_and_a_live_one_kept(tmp_path, store):
    base = tmp_path / "shared_base"
    script = ("import sys, time; from emotion_recognition.serving.store import FileStore; "
              f"s = FileStore.open({str(base)!r}); (s.root / 'upload.jpg').write_bytes(b'x'); "
              "print(s.root, flush=True); time.sleep(60)")
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                             cwd=os.path.dirname(os.path.dirname(__file__)))
    dead_root = child.stdout.readline().strip()
    live = FileStore.open(base, RETENTION)
    try:
        assert os.path.isdir(dead_root)  # alive: kept by the other server's start-up
        child.send_signal(signal.SIGKILL)  # a crash: no clean-up ran
        child.wait()
        assert os.path.isdir(dead_root)
        removed = remove_dead_instances(base)  # what the next start-up does
        assert [str(p) for p in removed] == [dead_root] and not os.path.exists(dead_root)
        assert live.root.is_dir()
    finally:
        live.close()
    assert sorted(os.listdir(base)) == []


def test_limits_are_one_set_and_the_promise_reads_them():
    retention = Retention(unused_upload_s=600, result_s=900)
    text = retention.privacy_text()
    assert "within 10 minutes" in text and "within 15 minutes" in text
    assert LIMITS.upload_bytes >= max(LIMITS.photo_bytes, LIMITS.video_bytes)
    assert LIMITS.max_video_seconds_at(5) == LIMITS.video_seconds
    assert LIMITS.max_video_seconds_at(LIMITS.video_fps_max) < LIMITS.video_seconds


# --- issue 27: the disk of unanalysed uploads, who a client is, shares ------------------------

def test_unanalysed_uploads_have_a_budget_in_all_and_per_client(tmp_path):
    from emotion_recognition.serving.store import UploadBudget

    assert LIMITS.unanalysed_upload_bytes == 1024 * 2**20  # the promised defaults
    assert LIMITS.unanalysed_upload_bytes_per_client == 400 * 2**20
    store = FileStore.open(tmp_path / "cache", RETENTION)
    store.budget = UploadBudget(total=100, per_client=60)
    try:
        assert store.upload_arriving("a", 50) is None  # counted while it arrives
        assert "not analysed yet" in store.upload_arriving("a", 20)  # 70 > 60 of a's
        path = _upload(store, data=b"x" * 50)
        store.note_uploads([str(path)], "a")  # stored: held, no longer arriving
        store.upload_arrived("a", 50)
        assert store.upload_arriving("b", 50) is None
        assert "try again in a few minutes" in store.upload_arriving("c", 1)  # 101 > 100
        store.upload_arrived("b", 50)  # b's upload was refused elsewhere, or left
        with store.claim(path):  # analysed: no longer counted
            assert store.upload_arriving("a", 60) is None
        store.upload_arrived("a", 60)
    finally:
        store.close()


def test_limits_read_the_upload_budgets_from_the_environment(monkeypatch):
    from emotion_recognition.core.limits import Limits

    monkeypatch.setenv("EMOTION_UPLOAD_BUDGET_MB", "2048")
    monkeypatch.setenv("EMOTION_UPLOAD_BUDGET_PER_CLIENT_MB", "100")
    limits = Limits.from_environment()
    assert (limits.unanalysed_upload_bytes, limits.unanalysed_upload_bytes_per_client) == (
        2048 * 2**20, 100 * 2**20)
    assert limits.photo_bytes == LIMITS.photo_bytes


@pytest.mark.parametrize("env, trusted", [
    ({}, ""),  # nobody: X-Forwarded-For is never believed
    ({"FORWARDED_ALLOW_IPS": "192.0.2.7,10.1.0.0/16"}, "192.0.2.7,10.1.0.0/16"),
    ({"SPACE_ID": "someone/emotions"}, "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16"),
    ({"SPACE_ID": "someone/emotions", "FORWARDED_ALLOW_IPS": "10.16.0.0/16"}, "10.16.0.0/16"),
])
def test_only_the_proxies_an_operator_names_are_believed(env, trusted):
    from uvicorn.middleware.proxy_headers import _TrustedHosts

    from emotion_recognition.serving.clients import trust_only_known_proxies

    env = dict(env)
    assert trust_only_known_proxies(env) == trusted == env["FORWARDED_ALLOW_IPS"]
    hosts = _TrustedHosts(env["FORWARDED_ALLOW_IPS"])  # what uvicorn makes of it
    assert "127.0.0.1" not in hosts
    if env.get("SPACE_ID"):
        assert "10.16.3.80" in hosts  # a Space's proxy as apps see it
        assert hosts.get_trusted_client_address("6.6.6.6, 203.0.113.9, 10.16.3.80")[0] == (
            "203.0.113.9")  # a forged first value is not the client


def test_frames_in_the_server_are_capped_per_client_and_in_all():
    from emotion_recognition.serving.clients import PerClient

    frames = PerClient(per_client=2, in_all=3)
    assert [frames.enter("a"), frames.enter("a"), frames.enter("a")] == [None, None, "client"]
    assert [frames.enter("b"), frames.enter("c")] == [None, "all"]
    frames.leave("a")
    assert frames.enter("c") is None


def test_a_share_makes_large_requests_take_turns():
    import time

    from emotion_recognition.serving.clients import Share

    share, inside, most = Share(10), [0], [0]
    lock = threading.Lock()

    def hold(amount):
        held = min(amount, share.total)  # one larger than the whole holds all of it
        with share.hold(amount):
            with lock:
                inside[0] += held
                most[0] = max(most[0], inside[0])
            time.sleep(0.05)
            with lock:
                inside[0] -= held

    threads = [threading.Thread(target=hold, args=(amount,)) for amount in (6, 6, 6, 4, 40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert most[0] <= 10 and share.used == 0 and not any(t.is_alive() for t in threads)
