"""Hub code, tested offline: a pre-filled local Hugging Face cache, no network."""

from __future__ import annotations

import logging
import shutil

import pytest

from emotion_recognition.core.classify import model_revision
from emotion_recognition.core.pipeline import EmotionRecognizer
from emotion_recognition.models import hub
from emotion_recognition.models.bundled import check_model_dir

pytestmark = pytest.mark.unit

COMMIT = "0123456789abcdef0123456789abcdef01234567"
REPO = "our-org/fer2013-emotions"


@pytest.fixture
def offline_cache(tmp_path, tiny_model_dir, monkeypatch):
    """A Hugging Face cache holding REPO at COMMIT (branch main points at it)."""
    import huggingface_hub.constants as constants

    cache = tmp_path / "hf-cache"
    repo_dir = cache / f"models--{REPO.replace('/', '--')}"
    snapshot = repo_dir / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    for name in hub.MODEL_FILES:
        shutil.copy(tiny_model_dir / name, snapshot / name)
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text(COMMIT)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    return cache


def test_download_a_pinned_revision_from_the_cache(offline_cache):
    path = hub.download_model_dir(REPO, COMMIT)
    assert path.name == COMMIT and (path / "emotion7.keras").is_file()
    assert hub.download_model_dir(REPO, "main") == path


def test_resolve_uses_the_hub_revision_and_logs_it(offline_cache, caplog):
    caplog.set_level(logging.INFO, logger="emotion_recognition.models.hub")
    env = {"EMOTION_MODEL_REPO": REPO, "EMOTION_MODEL_REVISION": COMMIT}
    source = hub.resolve_model_source(env)
    assert source.directory.name == COMMIT
    assert f"Hugging Face Hub {REPO}@{COMMIT}" in caplog.text
    recognizer = EmotionRecognizer(source.directory)  # the recognizer loads what resolve gave
    assert recognizer.classifier("emotion4").labels == ("angry", "happy", "sad", "neutral")


def test_falls_back_to_the_bundled_model_when_the_hub_is_unreachable(offline_cache, tmp_path,
                                                                     caplog):
    caplog.set_level(logging.INFO, logger="emotion_recognition.models.hub")
    env = {"EMOTION_MODEL_REPO": "someone/not-in-cache", "EMOTION_MODEL_REVISION": COMMIT}
    source = hub.resolve_model_source(env, bundled_dir=tmp_path)
    assert source.directory == tmp_path
    assert "bundled" in caplog.text and "unavailable" in caplog.text
    assert len(caplog.records) == 1 and caplog.records[0].levelno == logging.WARNING
    assert not caplog.records[0].exc_info  # the Hub's own error: no traceback needed


def test_a_bug_in_the_download_is_not_passed_off_as_offline(monkeypatch, tmp_path, caplog):
    def broken(*args, **kwargs):
        raise TypeError("a bug")

    monkeypatch.setattr(hub, "download_model_dir", broken)
    caplog.set_level(logging.INFO, logger="emotion_recognition.models.hub")
    source = hub.resolve_model_source({"EMOTION_MODEL_REPO": REPO}, bundled_dir=tmp_path)
    assert source.directory == tmp_path and "TypeError: a bug" in source.description
    assert caplog.records[0].levelno == logging.WARNING and caplog.records[0].exc_info


def test_no_repo_configured_means_bundled(tmp_path):
    source = hub.resolve_model_source({}, bundled_dir=tmp_path)
    assert source.directory == tmp_path and "EMOTION_MODEL_REPO not set" in source.description


def test_the_served_models_follow_the_environment_when_first_needed(offline_cache, monkeypatch):
    recognizer = EmotionRecognizer(hub.served_model_dir)  # nothing resolved yet
    monkeypatch.setenv("EMOTION_MODEL_REPO", REPO)
    monkeypatch.setenv("EMOTION_MODEL_REVISION", COMMIT)
    snapshot = hub.download_model_dir(REPO, COMMIT)
    expected = model_revision((snapshot / "emotion7.keras").read_bytes())
    assert recognizer.classifier("emotion7").revision == expected


def _model_dir_with_card(tmp_path, tiny_model_dir):
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    (folder / "README.md").write_text("---\nlibrary_name: keras\n---\n# card\n")
    (folder / "training_curves.png").write_bytes(b"png")
    return folder


def test_upload_sends_models_labels_card_and_plots(tmp_path, tiny_model_dir, monkeypatch):
    calls = {}

    class FakeApi:
        def __init__(self, token=None):
            calls["token"] = token

        def create_repo(self, repo_id, **options):
            calls["create"] = (repo_id, options)

        def upload_folder(self, **options):
            calls["upload"] = options
            return "commit-info"

    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    folder = _model_dir_with_card(tmp_path, tiny_model_dir)
    assert hub.upload_model_dir(folder, REPO) == "commit-info"
    assert calls["token"] == "hf_secret"
    assert calls["create"] == (REPO, {"repo_type": "model", "private": False, "exist_ok": True})
    assert calls["upload"]["repo_id"] == REPO and calls["upload"]["folder_path"] == str(folder)
    sent = {p.name for p in check_model_dir(folder)}
    assert {"emotion7.keras", "emotion4.keras", "labels.json", "README.md",
            "training_curves.png"} <= sent


def test_upload_refuses_an_incomplete_or_oversized_folder(tmp_path, tiny_model_dir):
    folder = _model_dir_with_card(tmp_path, tiny_model_dir)
    (folder / "README.md").unlink()
    with pytest.raises(FileNotFoundError, match="README.md"):
        check_model_dir(folder)
    (folder / "README.md").write_text("card")
    with open(folder / "emotion7.keras", "ab") as handle:
        handle.truncate(11 * 2**20)
    with pytest.raises(ValueError, match="over 10 MB"):
        check_model_dir(folder)
    shutil.copy(tiny_model_dir / "emotion7.keras", folder / "emotion7.keras")
    assert check_model_dir(folder)  # within the limit again
    (folder / "network_int8.tflite").write_bytes(b"\0" * (11 * 2**20))  # the served file too
    with pytest.raises(ValueError, match=r"over 10 MB.*: network_int8.tflite"):
        check_model_dir(folder)
