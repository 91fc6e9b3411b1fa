"""The served int8 LiteRT network against its reference, the .keras files: the same
views, the same probabilities up to quantisation, one interpreter for both emotion sets,
a revision of what is served, the Keras fallback, and a serving path without TensorFlow.

The FER2013 PublicTest check runs when FER2013_ZIP names Kaggle's fer2013.zip (or its
folder, or fer2013.csv); the committed example faces are checked on every run."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from emotion_recognition.core import litert
from emotion_recognition.core.classify import (LITERT_SPEC, EmotionClassifier, model_revision,
                                               serving_plan)
from emotion_recognition.core.crops import face_crops, to_grey
from emotion_recognition.core.decode import decode_image
from emotion_recognition.core.errors import ModelLoadError
from emotion_recognition.core.labels import EMOTION_SETS
from emotion_recognition.core.views import face_views

pytestmark = pytest.mark.unit

MODEL_DIR = ROOT / "model"
MAX_DISAGREEMENT = 0.02  # share of PublicTest faces labelled differently (issue 23)
MAX_ACCURACY_POINTS = 0.5


def _both(emotion_set: str):
    return (EmotionClassifier.from_dir(MODEL_DIR, emotion_set),
            EmotionClassifier.from_dir(MODEL_DIR, emotion_set, backend="keras"))


@pytest.fixture(scope="module")
def example_faces(recognizer) -> np.ndarray:
    """The faces of the committed example photos, as the app crops them, each also shifted,
    darkened and brightened: (N, 48, 48, 1) uint8."""
    faces = []
    for name in ("grace_hopper.jpg", "astronaut.jpg", "three_faces.jpg"):
        grey = to_grey(decode_image(ROOT / "examples" / name))
        boxes = recognizer.detector.detect(grey)
        faces.append(face_crops(grey, boxes))
    faces = np.concatenate(faces)
    assert len(faces) >= 5
    shifted = np.roll(faces, 2, axis=2)
    darker = (faces * 0.6).astype(np.uint8)
    brighter = np.clip(faces * 1.3 + 20, 0, 255).astype(np.uint8)
    return np.concatenate([faces, shifted, darker, brighter])


def test_numpy_views_are_the_keras_graph_views():
    import keras
    from keras import layers

    faces = np.random.default_rng(0).integers(0, 256, (3, 48, 48, 1)).astype(np.float32)
    inputs = keras.Input((48, 48, 1))
    zoom = layers.Resizing(48, 48)(layers.CenterCrop(44, 44)(inputs))
    corner = layers.Resizing(48, 48)(layers.Cropping2D(((4, 0), (0, 4)))(inputs))
    zoomed, cornered = keras.Model(inputs, [zoom, corner]).predict(faces, verbose=0)
    views = face_views(faces, "ten_crop").reshape(12, 3, 48, 48, 1)
    np.testing.assert_allclose(views[0], faces)
    np.testing.assert_allclose(views[1], zoomed, atol=2e-3)  # the centre zoom
    np.testing.assert_allclose(views[4], cornered, atol=2e-3)  # bottom-left corner
    np.testing.assert_allclose(views[7], zoomed[:, :, ::-1], atol=2e-3)  # the zoom, mirrored
    assert face_views(faces, "flip_zoom").shape == (12, 48, 48, 1)


@pytest.mark.parametrize("emotion_set", list(EMOTION_SETS))
def test_litert_gives_the_keras_probabilities_on_example_faces(emotion_set, example_faces):
    served, keras_model = _both(emotion_set)
    assert (served.backend, keras_model.backend) == ("litert", "keras")
    ours, reference = served.predict(example_faces), keras_model.predict(example_faces)
    assert ours.shape == reference.shape == (len(example_faces), len(served.labels))
    assert np.allclose(ours.sum(1), 1, atol=1e-5)
    assert np.abs(ours - reference).max() < 0.1
    # a label may only change where the reference hesitates between two emotions
    top2 = np.sort(reference, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 0.1
    assert clear.sum() >= len(example_faces) // 2
    assert (ours.argmax(1) == reference.argmax(1))[clear].all()


def test_views_and_temperature_are_applied(example_faces):
    """Without the views, or without the temperature, the LiteRT probabilities drift from
    the Keras model's: both steps are done, and done as the graph does them."""
    served, keras_model = _both("emotion7")
    reference = keras_model.predict(example_faces)
    error = np.abs(served.predict(example_faces) - reference).max()
    for change in ({"views": "none"}, {"temperature": 1.0}):
        model = served.model
        original = {name: getattr(model, name) for name in change}
        try:
            for name, value in change.items():
                setattr(model, name, value)
            changed = np.abs(served.predict(example_faces) - reference).max()
        finally:
            for name, value in original.items():
                setattr(model, name, value)
        assert changed > error + 0.01, change


def _fer2013_public_test():
    path = os.environ.get("FER2013_ZIP", "")
    if not path:
        pytest.skip("set FER2013_ZIP to Kaggle's fer2013.zip to compare LiteRT and Keras on "
                    "every PublicTest face")
    from emotion_recognition.training.data import load_fer2013

    return load_fer2013(path)["PublicTest"]


@pytest.mark.parametrize("emotion_set", list(EMOTION_SETS))
def test_int8_and_keras_agree_on_public_test(emotion_set):
    from emotion_recognition.training.evaluate import _predict, agreement

    public = _fer2013_public_test()
    emotions = EMOTION_SETS[emotion_set]
    mask, labels = emotions.restrict(public.labels)
    faces = public.images[mask][..., None]
    served, keras_model = _both(emotion_set)
    found = agreement(_predict(served, faces), _predict(keras_model, faces), labels)
    assert 1 - found["same_label"] <= MAX_DISAGREEMENT, found
    assert abs(found["accuracy_points"]) <= MAX_ACCURACY_POINTS, found


def test_the_litert_file_is_exported_from_the_committed_keras_files():
    spec = json.loads((MODEL_DIR / LITERT_SPEC).read_text())["emotion_sets"]
    calibration = json.loads((MODEL_DIR / "calibration.json").read_text())
    for name, emotions in EMOTION_SETS.items():
        entry = spec[name]
        keras_file = MODEL_DIR / emotions.model_file
        assert entry["exported_from_revision"] == model_revision(keras_file.read_bytes())
        assert entry["temperature"] == pytest.approx(calibration[name]["temperature"], abs=1e-4)
        assert entry["outputs"] == list(emotions.indices) and entry["views"] == "flip_zoom"
        assert (MODEL_DIR / entry["network"]).stat().st_size <= 10 * 2**20
    assert spec["emotion7"]["network"] == spec["emotion4"]["network"]  # one shared network


def test_emotion_sets_share_one_interpreter(recognizer):
    seven, four = recognizer.classifier("emotion7"), recognizer.classifier("emotion4")
    assert seven.backend == four.backend == "litert"
    assert seven.model.network is four.model.network
    assert seven.revision != four.revision  # another output set and temperature


def test_the_revision_is_the_served_files(tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(MODEL_DIR, folder, ignore=shutil.ignore_patterns("*.png", "*.csv"))
    plan = serving_plan(folder, "emotion7")
    network = (folder / plan.entry["network"]).read_bytes()
    assert plan.backend == "litert" and plan.files == (LITERT_SPEC, plan.entry["network"])
    assert plan.revision == model_revision(network + json.dumps(plan.entry, sort_keys=True)
                                           .encode())
    assert plan.revision != model_revision((folder / "emotion7.keras").read_bytes())
    spec = json.loads((folder / LITERT_SPEC).read_text())
    spec["emotion_sets"]["emotion7"]["temperature"] = 2.0
    (folder / LITERT_SPEC).write_text(json.dumps(spec))
    changed = EmotionClassifier.from_dir(folder, "emotion7")
    assert changed.revision not in (plan.revision, serving_plan(folder, "emotion4").revision)
    assert serving_plan(folder, "emotion4").revision == serving_plan(MODEL_DIR, "emotion4").revision


def test_a_litert_file_older_than_its_keras_file_is_not_served(tmp_path, caplog):
    """A new emotion7.keras (a notebook's, a fine-tune's) without a new export: the int8
    file would answer for the old network, so the .keras file serves, saying why."""
    folder = tmp_path / "model"
    shutil.copytree(MODEL_DIR, folder, ignore=shutil.ignore_patterns("*.png", "*.csv"))
    with open(folder / "emotion7.keras", "ab") as keras_file:
        keras_file.write(b"\0")  # other bytes: another model as far as its revision goes
    plan = serving_plan(folder, "emotion7")
    assert plan.backend == "keras" and "export_litert" in plan.reason
    assert serving_plan(folder, "emotion4").backend == "litert"  # its own file is unchanged
    with caplog.at_level("WARNING"):
        assert EmotionClassifier.from_dir(folder, "emotion7").backend == "keras"
    assert "exported from another emotion7.keras" in caplog.text


def test_without_ai_edge_litert_the_keras_file_serves_with_a_log_line(monkeypatch, caplog):
    def missing():
        raise ImportError("No module named 'ai_edge_litert'")

    monkeypatch.setattr(litert, "interpreter_class", missing)
    with caplog.at_level(logging.WARNING, logger="emotion_recognition.core.classify"):
        classifier = EmotionClassifier.from_dir(MODEL_DIR, "emotion4")
    assert classifier.backend == "keras"
    assert classifier.revision == model_revision((MODEL_DIR / "emotion4.keras").read_bytes())
    assert "ai-edge-litert cannot be imported" in caplog.text and "emotion4" in caplog.text
    with pytest.raises(ModelLoadError, match="ai-edge-litert cannot be imported"):
        EmotionClassifier.from_dir(MODEL_DIR, "emotion4", backend="litert")


def test_a_folder_without_litert_files_serves_its_keras_files(tiny_model_dir, caplog):
    with caplog.at_level(logging.WARNING, logger="emotion_recognition.core.classify"):
        classifier = EmotionClassifier.from_dir(tiny_model_dir, "emotion7")
    assert classifier.backend == "keras" and f"has no {LITERT_SPEC}" in caplog.text
    with pytest.raises(ModelLoadError, match=LITERT_SPEC):
        EmotionClassifier.from_dir(tiny_model_dir, "emotion7", backend="litert")


SERVE_ONE_PHOTO = """
import sys
from emotion_recognition.core.pipeline import EmotionRecognizer
recognizer = EmotionRecognizer(sys.argv[1])
for emotion_set in ("emotion7", "emotion4"):
    result = recognizer.analyze(sys.argv[2], emotion_set)
    assert len(result.faces) == 1, result.faces
    assert recognizer.classifier(emotion_set).backend == "litert"
print(sorted(name for name in sys.modules if name.split(".")[0] in ("tensorflow", "keras")))
"""


def test_serving_a_photo_imports_neither_tensorflow_nor_keras():
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", SERVE_ONE_PHOTO, str(MODEL_DIR),
                           str(ROOT / "examples" / "grace_hopper.jpg")], cwd=ROOT,
                          env=environment, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[-2] == "[]"
