"""The contract of model/: what the app and outside checks rely on."""

from __future__ import annotations

import json
import re

import keras
import numpy as np
import pytest

from conftest import ROOT
from emotion_recognition.core.labels import EMOTIONS4, EMOTIONS7

pytestmark = pytest.mark.unit

MODEL_DIR = ROOT / "model"


def test_labels_file_names_both_sets_in_output_order():
    labels = json.loads((MODEL_DIR / "labels.json").read_text())
    assert labels == {"emotion7": list(EMOTIONS7), "emotion4": list(EMOTIONS4)}


@pytest.mark.parametrize("name, classes", [("emotion7", 7), ("emotion4", 4)])
def test_served_model_loads_safely_and_returns_probabilities(name, classes):
    path = MODEL_DIR / f"{name}.keras"
    assert path.stat().st_size <= 10 * 2**20
    model = keras.saving.load_model(path, safe_mode=True)
    faces = np.random.default_rng(0).integers(0, 256, (5, 48, 48, 1)).astype(np.uint8)
    probabilities = np.asarray(model.predict(faces, verbose=0))
    assert probabilities.shape == (5, classes)
    assert np.allclose(probabilities.sum(1), 1.0, atol=1e-5)
    as_float = np.asarray(model.predict(faces.astype(np.float32), verbose=0))
    assert np.allclose(probabilities, as_float, atol=1e-6)  # raw 0..255, uint8 or float


def test_card_quotes_the_evaluated_figures():
    """The model card's metadata (what the Hub shows) must carry exactly the PrivateTest
    figures evaluation.json measured, 7 emotions first, then 4."""
    import yaml

    card = (MODEL_DIR / "README.md").read_text()
    results = yaml.safe_load(card.split("---\n")[1])["model-index"][0]["results"]
    private = json.loads((MODEL_DIR / "evaluation.json").read_text())["PrivateTest"]
    for result, key in zip(results, ("ours-7", "ours-4"), strict=True):
        quoted = {m["type"]: m["value"] for m in result["metrics"]}
        assert quoted == {"accuracy": private[key]["accuracy"], "f1": private[key]["macro_f1"]}


def test_model_card_has_metadata_and_figures():
    """The card's YAML metadata (what the Hub reads) names the library and reports the
    PrivateTest accuracy of both served models; the plots it shows are committed."""
    import yaml

    card = (MODEL_DIR / "README.md").read_text()
    assert card.startswith("---\n")
    metadata = yaml.safe_load(card.split("---\n")[1])
    assert metadata["library_name"] == "keras" and metadata["pipeline_tag"] == "image-classification"
    results = metadata["model-index"][0]["results"]
    assert [r["dataset"]["split"] for r in results] == ["PrivateTest", "PrivateTest"]
    for result in results:
        accuracy = [m["value"] for m in result["metrics"] if m["type"] == "accuracy"]
        assert len(accuracy) == 1 and 0.25 < accuracy[0] < 1
    shown = set(re.findall(r"\(([\w.]+\.png)\)", card))
    assert {"confusion_emotion7_privatetest.png", "class_frequencies.png",
            "training_curves.png"} <= shown
    assert all((MODEL_DIR / plot).is_file() for plot in shown)
