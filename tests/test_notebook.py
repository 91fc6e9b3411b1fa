"""train.ipynb runs headless end to end with the tiny recipe (teachers, student, calibration)."""

from __future__ import annotations

import pytest

import json

import papermill

from conftest import ROOT

pytestmark = pytest.mark.training


def test_notebook_trains_evaluates_and_publishes(fer_zip, tmp_path):
    model_dir = tmp_path / "model"
    papermill.execute_notebook(
        str(ROOT / "train.ipynb"), str(tmp_path / "executed.ipynb"), cwd=str(ROOT),
        parameters={"DATA": str(fer_zip), "INSTALL": False, "RECIPE": "tiny",
                    "OUT": str(tmp_path / "run"), "MODEL_DIR": str(model_dir)},
        kernel_name="python3", progress_bar=False)
    executed = json.loads((tmp_path / "executed.ipynb").read_text())
    text = json.dumps(executed)
    assert "FER2013 PrivateTest" in text and "image/png" in text
    for name in ("emotion7.keras", "emotion4.keras", "labels.json", "training_curves.png",
                 "class_frequencies.png", "confusion_emotion7_privatetest.png",
                 "calibration.json", "reliability_privatetest.png"):
        assert (model_dir / name).is_file(), name
    from emotion_recognition.core.classify import serving_plan

    for emotion_set in ("emotion7", "emotion4"):  # the published int8 file is this run's own
        assert serving_plan(model_dir, emotion_set).backend == "litert"
