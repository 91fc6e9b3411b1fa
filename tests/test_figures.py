"""Every figure the README, docs/ and the model card quote comes from a committed JSON."""

from __future__ import annotations

import re
import subprocess

import pytest

from benchmarks import readme_figures
from emotion_recognition.core.limits import LIMITS, Retention

pytestmark = pytest.mark.unit

ROOT = readme_figures.ROOT
README = ROOT / "README.md"
BENCHMARKS = ROOT / "docs" / "benchmarks.md"
MODEL_CARD = ROOT / "model" / "README.md"
EXPECTED = {README: {"headline"},
            BENCHMARKS: {"accuracy", "fer-release", "speed", "live-browser", "video-stages", "load",
                         "memory", "detection-recall", "false-faces", "detector-frames",
                         "explanation", "batch"},
            ROOT / "docs" / "batch.md": {"batch"},
            MODEL_CARD: {"accuracy", "calibration", "selection", "experiments", "rotation"}}


@pytest.mark.parametrize("document", readme_figures.DOCUMENTS,
                         ids=[str(d.relative_to(ROOT)) for d in readme_figures.DOCUMENTS])
def test_quoted_figures_match_the_benchmark_json(document):
    blocks = readme_figures.blocks(document.read_text())
    missing = EXPECTED.get(document, set()) - set(blocks)
    assert not missing, f"{document.name} lacks the figures blocks {missing}"
    for name, body in blocks.items():
        assert body == readme_figures.RENDERERS[name](), (
            f"{document.relative_to(ROOT)}'s '{name}' figures differ from their JSON: "
            "run python -m benchmarks.readme_figures")


def test_every_document_with_figures_is_rewritten():
    """A figures block in any Markdown file is one that readme_figures rewrites (and the
    test above checks), and every document expected to hold figures is among them."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard",
                             "*.md"], cwd=ROOT, capture_output=True, text=True, check=True)
    holding = {ROOT / name for name in listed.stdout.splitlines()
               if readme_figures.blocks((ROOT / name).read_text())}
    assert holding <= set(readme_figures.DOCUMENTS)
    assert set(EXPECTED) <= set(readme_figures.DOCUMENTS)


@pytest.mark.parametrize("document, name", [(README, "headline"), (BENCHMARKS, "speed")])
def test_a_changed_figure_is_caught(document, name):
    text = document.read_text()
    body = readme_figures.blocks(text)[name]
    tampered = text.replace(body, re.sub(r"\*\*(\d+)", lambda m: f"**{int(m[1]) + 1}", body, 1))
    assert readme_figures.blocks(tampered)[name] != readme_figures.RENDERERS[name]()
    assert readme_figures.rewrite(tampered) == text


def test_the_headline_figures_are_the_detailed_ones():
    """The README's table quotes the same accuracy and photo time as docs/benchmarks.md."""
    headline = readme_figures.headline()
    photo_ms = f"**{readme_figures.load('speed')['ours_photo_640x480_ms']:.1f} ms**"
    assert photo_ms in headline and photo_ms in readme_figures.speed()
    ours7 = re.search(r"PrivateTest accuracy \| (\*\*[\d.]+ %\*\*)", readme_figures.accuracy())[1]
    assert f"7 emotions | {ours7}" in headline


def test_load_and_video_targets_are_met_in_the_committed_figures():
    load = readme_figures.load("load")
    shared = next(s for s in load["scenarios"] if s["scenario"] == "shared")
    assert (shared["clients"], shared["requests_per_client"]) == (16, 50)
    assert shared["requests"] == 800 and shared["errors"] == 0 and shared["wrong_answers"] == 0
    assert readme_figures.load("speed")["video_realtime_factor"] >= 3


def test_the_docs_state_the_limits_and_the_privacy_promise_the_app_enforces():
    def words(name: str) -> str:
        return " ".join((ROOT / "docs" / name).read_text().split())

    assert Retention().privacy_text() in words("privacy.md")
    limits = words("limits-and-safety.md")
    assert LIMITS.photo_text() in limits and LIMITS.video_text() in limits


def test_no_speed_claim_typed_by_hand_in_the_code():
    """Speeds are measured by benchmarks into figures/*.json, never typed into the code."""
    code = [*(ROOT / "emotion_recognition").rglob("*.py"),
            *(ROOT / "ui").rglob("*.py"), ROOT / "app.py"]
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
