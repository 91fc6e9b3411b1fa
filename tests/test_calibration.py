"""Calibrated confidences and the evaluation's second yardsticks (ECE, FER+ majority)."""

from __future__ import annotations

import json
import shutil

import keras
import numpy as np
import pytest

from conftest import kaggle_entries, write_kaggle_zip
from emotion_recognition.core.labels import EMOTIONS7
from emotion_recognition.training import calibrate, evaluate

pytestmark = pytest.mark.unit


def test_ece_is_the_count_weighted_gap_between_confidence_and_accuracy():
    probabilities = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]])
    labels = np.array([0, 1, 0, 0])  # 0.9 bin: half right; 0.6 bin: all right
    expected = 0.5 * abs(0.5 - 0.9) + 0.5 * abs(1.0 - 0.6)
    assert calibrate.expected_calibration_error(probabilities, labels) == pytest.approx(expected)
    perfect = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert calibrate.expected_calibration_error(perfect, np.array([0, 1])) == 0.0
    bins = calibrate.reliability(probabilities, labels)
    assert sum(bins["count"]) == 4 and len(bins["count"]) == calibrate.ECE_BINS


def test_fit_temperature_recovers_the_temperature_that_made_the_labels():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (20000, 7))
    labels = np.array([rng.choice(7, p=p) for p in calibrate.softmax(logits / 2.0)])
    assert calibrate.fit_temperature(logits, labels) == pytest.approx(2.0, rel=0.1)
    overconfident = calibrate.softmax(logits)
    fitted = calibrate.softmax(logits / calibrate.fit_temperature(logits, labels))
    assert (calibrate.expected_calibration_error(fitted, labels)
            < calibrate.expected_calibration_error(overconfident, labels) / 3)


def test_a_folded_temperature_keeps_the_winner_and_composes(tiny_model_dir):
    served = keras.saving.load_model(tiny_model_dir / "emotion7.keras", safe_mode=True)
    faces = np.random.default_rng(1).integers(0, 256, (5, 48, 48, 1)).astype(np.float32)
    before = served.predict(faces, verbose=0)
    once = calibrate.with_temperature(served, 2.0)
    twice = calibrate.with_temperature(once, 1.5)
    expected = calibrate.softmax(np.log(before) / 3.0)
    assert np.allclose(twice.predict(faces, verbose=0), expected, atol=1e-5)
    assert (once.predict(faces, verbose=0).argmax(1) == before.argmax(1)).all()
    assert [layer.name for layer in twice.layers].count("calibration") == 1


def test_calibrate_command_folds_a_temperature_into_each_served_model(tiny_model_dir, fer_zip,
                                                                      tmp_path):
    model_dir = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model_dir)
    calibrate.main(["--data", str(fer_zip), "--model-dir", str(model_dir)])
    report = json.loads((model_dir / "calibration.json").read_text())
    assert set(report) == {"emotion7", "emotion4"}
    assert report["emotion4"]["public_test_images"] == 16 and report["emotion7"]["temperature"] > 0
    assert report["emotion7"]["public_test_ece_after"] <= report["emotion7"]["public_test_ece_before"] + 0.05
    reloaded = keras.saving.load_model(model_dir / "emotion7.keras", safe_mode=True)
    assert "calibration" in [layer.name for layer in reloaded.layers]


def _write_ferplus(folder, keys_and_counts):
    """fer2013new.csv and the row map for these keys, with the given 10 vote counts each
    (FER+ column order: neutral, happiness, surprise, sadness, anger, disgust, fear,
    contempt, unknown, NF)."""
    lines = ["Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,"
             "unknown,NF"]
    mapping = ["path,usage,emotion,fer2013_row"]
    for row, (key, counts) in enumerate(keys_and_counts):
        lines.append(f"PrivateTest,fer{row}.png," + ",".join(map(str, counts)))
        mapping.append(f"{key},PrivateTest,x,{row}")
    (folder / "fer2013new.csv").write_text("\n".join(lines) + "\n")
    (folder / "kaggle_to_fer2013_row.csv").write_text("\n".join(mapping) + "\n")


def test_ferplus_majority_ignores_ties_and_non_emotions(tmp_path):
    keys = ("a", "b", "c", "d")
    _write_ferplus(tmp_path, [("a", [0, 8, 0, 0, 2, 0, 0, 0, 0, 0]),   # happy
                              ("b", [0, 0, 0, 0, 0, 0, 0, 6, 4, 0]),   # contempt: not ours
                              ("c", [5, 5, 0, 0, 0, 0, 0, 0, 0, 0]),   # a tie
                              ("d", [0, 0, 0, 0, 0, 0, 0, 0, 0, 10])])  # not a face
    majority = evaluate.ferplus_majority(tmp_path / "fer2013.zip", keys + ("unknown",))
    assert majority.tolist() == [EMOTIONS7.index("happy"), -1, -1, -1, -1]
    assert evaluate.ferplus_majority(tmp_path / "elsewhere" / "x.zip", keys) is None


def test_evaluation_reports_ece_ferplus_accuracy_and_the_reliability_diagram(
        tiny_model_dir, tmp_path, capsys):
    entries = kaggle_entries()
    data = write_kaggle_zip(tmp_path / "fer2013.zip", entries)
    private = sorted(k for k in entries if "PrivateTest_" in k)
    # every PrivateTest image gets a clear FER+ majority: its own folder's class, except
    # the angry ones, which the annotators call contempt (so they leave the FER+ yardstick)
    votes = []
    for key in private:
        counts = [0] * 10
        emotion = key.split("/")[1]
        column = {"neutral": 0, "happy": 1, "surprise": 2, "sad": 3, "angry": 7, "disgust": 5,
                  "fear": 6}[emotion]
        counts[column] = 10
        votes.append((key, counts))
    _write_ferplus(tmp_path, votes)
    evaluate.main(["--data", str(data), "--model-dir", str(tiny_model_dir), "--plots",
                   str(tmp_path), "--json", str(tmp_path / "scores.json")])
    scores = json.loads((tmp_path / "scores.json").read_text())["PrivateTest"]
    assert scores["ours-7"]["ferplus_images"] == 24  # 28 images less the 4 angry ones
    assert scores["ours-4"]["ferplus_images"] == 12  # happy, sad, neutral: 3 x 4
    assert 0 <= scores["ours-7"]["ferplus_accuracy"] <= 1 and 0 <= scores["ours-7"]["ece"] <= 1
    assert (tmp_path / "reliability_privatetest.png").stat().st_size > 1000
    assert "ECE" in capsys.readouterr().out


def test_evaluation_recovers_the_ece_before_the_folded_temperature(tiny_model_dir, fer_zip,
                                                                   tmp_path):
    """A calibrated model's report also gives its ECE without the temperature: the same
    figure the uncalibrated model gets."""
    from emotion_recognition.training.data import load_fer2013

    splits = load_fer2013(fer_zip)
    plain = evaluate.evaluate_all(splits, tiny_model_dir, None)
    model_dir = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model_dir)
    for name in ("emotion7.keras", "emotion4.keras"):
        served = keras.saving.load_model(model_dir / name, safe_mode=True, compile=False)
        calibrate.with_temperature(served, 0.5).save(model_dir / name)
    calibrated = evaluate.evaluate_all(splits, model_dir, None)
    for name in ("ours-7", "ours-4"):
        extra = calibrated["PrivateTest"][name].extra
        assert extra["temperature_folded_in"] == 0.5
        assert abs(extra["ece_before_temperature"] - plain["PrivateTest"][name].extra["ece"]) < 1e-3
        assert "ece_before_temperature" not in plain["PrivateTest"][name].extra
