"""Every figure the README and the model card quote comes from a committed benchmark JSON."""

from __future__ import annotations

import re

import pytest

from benchmarks import readme_figures
from emotion_recognition.core.limits import LIMITS, Retention

pytestmark = pytest.mark.unit

README = readme_figures.ROOT / "README.md"
MODEL_CARD = readme_figures.ROOT / "model" / "README.md"
EXPECTED = {README: {"speed", "video-stages", "load", "memory", "detection-recall", "false-faces",
                     "detector-frames", "fer-release"}, MODEL_CARD: {"experiments", "rotation"}}


@pytest.mark.parametrize("document", [README, MODEL_CARD], ids=["README", "model card"])
def test_quoted_figures_match_the_benchmark_json(document):
    blocks = readme_figures.blocks(document.read_text())
    missing = EXPECTED[document] - set(blocks)
    assert not missing, f"{document.name} lacks the figures blocks {missing}"
    for name, body in blocks.items():
        assert body == readme_figures.RENDERERS[name](), (
            f"{document.name}'s '{name}' figures differ from benchmarks/figures/*.json: "
            "run python -m benchmarks.readme_figures")


def test_a_changed_figure_is_caught(tmp_path, monkeypatch):
    text = README.read_text()
    speed = readme_figures.blocks(text)["speed"]
    tampered = text.replace(speed, re.sub(r"\*\*(\d+)", lambda m: f"**{int(m[1]) + 1}", speed, 1))
    assert readme_figures.blocks(tampered)["speed"] != readme_figures.speed()
    assert readme_figures.rewrite(tampered) == text


def test_load_and_video_targets_are_met_in_the_committed_figures():
    load = readme_figures.load("load")
    shared = next(s for s in load["scenarios"] if s["scenario"] == "shared")
    assert (shared["clients"], shared["requests_per_client"]) == (16, 50)
    assert shared["requests"] == 800 and shared["errors"] == 0 and shared["wrong_answers"] == 0
    assert readme_figures.load("speed")["video_realtime_factor"] >= 3


def test_readme_states_the_limits_and_the_privacy_promise_the_app_enforces():
    text = " ".join(README.read_text().split())
    assert Retention().privacy_text() in text
    assert LIMITS.photo_text() in text and LIMITS.video_text() in text


def test_no_speed_claim_typed_by_hand_in_the_code():
    """Speeds are measured by benchmarks into figures/*.json, never typed into the code."""
    code = [*(readme_figures.ROOT / "emotion_recognition").rglob("*.py"),
            *(readme_figures.ROOT / "ui").rglob("*.py"), readme_figures.ROOT / "app.py"]
    claims = [f"{path.name}: {m.group(0)}" for path in code
              for m in re.finditer(r"~\s*\d+\s*ms", path.read_text())]
    assert len(code) > 50 and claims == []


def test_detection_targets_are_met_in_the_committed_figures():
    """0 phantoms and no false box with the default detector; its recall at least the peer's
    at every face size in 12 MP photos (benchmarks/figures/detection_recall.json)."""
    figures = readme_figures.load("detection_recall")
    ours, peer = figures["detectors"]["haar"], figures["detectors"]["peer"]
    for size, recall in peer["recall_by_size"].items():
        assert ours["recall_by_size"][size] >= recall, size
    assert figures["face_free"]["detectors"]["haar"]["false_boxes_per_photo"] <= 0.1
    assert figures["face_free"]["detectors"]["haar"]["false_boxes"] == 0
    assert figures["shifted_astronaut"]["detectors"]["haar"]["phantom_boxes"] == 0
    assert figures["face_free"]["photos"] >= 20


def test_the_recall_benchmark_tells_false_faces_from_misframed_ones():
    """A box on no pasted face is a false face; one centred on a face but far too large
    (Haar's 62-pixel box on a 40-pixel face) is a real face badly framed, not a phantom."""
    from benchmarks.detection_recall import score

    placed = [(100, 100, 40), (500, 500, 200)]
    boxes = [[90, 90, 62, 62], [510, 510, 180, 180], [900, 900, 50, 50]]
    found, false_faces, misframed = score(boxes, placed)
    assert found == {0: False, 1: True} and false_faces == 1 and misframed == 1
