"""The export command: a model folder's .keras files -> their network in int8 LiteRT files
and litert.json, served with the views and temperature of the Keras graphs; and the
evaluation of such a folder, LiteRT beside Keras."""

from __future__ import annotations

import json
import shutil

import keras
import numpy as np
import pytest

from emotion_recognition.core.classify import LITERT_SPEC, EmotionClassifier
from emotion_recognition.core.labels import FOUR
from emotion_recognition.training import calibrate, evaluate, export_litert
from emotion_recognition.training.architectures import build
from emotion_recognition.training.export import save_served_models

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def exported(tiny_model_dir, fer_zip, tmp_path_factory):
    """The tiny models with a temperature of 0.5 folded in, exported (one network file)."""
    folder = tmp_path_factory.mktemp("exported") / "model"
    shutil.copytree(tiny_model_dir, folder)
    for name in ("emotion7.keras", "emotion4.keras"):
        served = keras.saving.load_model(folder / name, safe_mode=True, compile=False)
        calibrate.with_temperature(served, 0.5).save(folder / name)
    export_litert.main(["--data", str(fer_zip), "--model-dir", str(folder), "--faces", "40"])
    return folder


def test_one_int8_network_file_for_both_sets(exported):
    spec = json.loads((exported / LITERT_SPEC).read_text())
    entries = spec["emotion_sets"]
    assert entries["emotion7"]["network"] == entries["emotion4"]["network"] == "network_int8.tflite"
    assert [p.name for p in exported.glob("*.tflite")] == ["network_int8.tflite"]
    assert entries["emotion7"]["outputs"] == list(range(7))
    assert entries["emotion4"]["outputs"] == [0, 3, 4, 6]  # angry, happy, sad, neutral
    assert entries["emotion7"]["views"] == "flip" and entries["emotion7"]["temperature"] == 0.5
    assert spec["calibration"] == {"data": "FER2013 Training", "faces": 40, "seed": 0}
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(exported / "network_int8.tflite"))
    tensor_types = {d["dtype"] for d in interpreter.get_tensor_details()}
    assert np.int8 in tensor_types  # weights and activations quantised


@pytest.mark.parametrize("emotion_set", ["emotion7", "emotion4"])
def test_exported_files_serve_the_keras_probabilities(exported, emotion_set):
    served = EmotionClassifier.from_dir(exported, emotion_set)
    reference = EmotionClassifier.from_dir(exported, emotion_set, backend="keras")
    assert served.backend == "litert"
    faces = np.random.default_rng(3).integers(0, 256, (16, 48, 48, 1)).astype(np.uint8)
    assert np.abs(served.predict(faces) - reference.predict(faces)).max() < 0.05


def test_a_network_of_its_own_gets_a_file_of_its_own(tiny_model_dir, fer_zip, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    keras.utils.set_random_seed(1)
    save_served_models(build("vgg", 4, width=4), folder, network_classes=FOUR)  # a 4-unit head
    spec = export_litert.export_litert(folder, fer_zip, count=20)["emotion_sets"]
    assert spec["emotion7"]["network"] == "emotion7_network_int8.tflite"
    assert spec["emotion4"]["network"] == "emotion4_network_int8.tflite"
    assert spec["emotion4"]["outputs"] == [0, 1, 2, 3]
    four = EmotionClassifier.from_dir(folder, "emotion4")
    seven = EmotionClassifier.from_dir(folder, "emotion7")
    assert four.model.network is not seven.model.network


def test_evaluation_scores_litert_beside_keras(exported, fer_zip, capsys):
    from emotion_recognition.training.data import load_fer2013

    results = evaluate.evaluate_all(load_fer2013(fer_zip), exported, None)
    for split in ("PublicTest", "PrivateTest"):
        assert {"ours-7", "keras-7", "ours-4", "keras-4"} <= set(results[split])
        agreement = results[split]["ours-7"].extra["agreement_with_keras"]
        assert 0 <= agreement["same_label"] <= 1
        expected = 100 * (results[split]["ours-7"].accuracy - results[split]["keras-7"].accuracy)
        assert agreement["accuracy_points"] == pytest.approx(expected, abs=0.01)
        assert results[split]["keras-7"].extra["temperature_folded_in"] == 0.5
    evaluate.print_report(results)
    assert "against its .keras file" in capsys.readouterr().out
