"""The GPU job script and its recipe, run on the CPU on a tiny subset (as the README says)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile

import numpy as np
import pytest

from conftest import ROOT, kaggle_entries, write_kaggle_zip


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    from emotion_recognition.training.pack import write_pack

    folder = tmp_path_factory.mktemp("pack")
    return write_pack(write_kaggle_zip(folder / "fer2013.zip", kaggle_entries(6)),
                      folder / "pack.npz")


def _job(out, pack, **env):
    """One job of scripts/gpu_train.sh, on TensorFlow's CPU (CI has no JAX)."""
    settings = {**os.environ, "PACK": str(pack), "RECIPE": "tiny", "JOB_SECONDS": "300",
                "PYTHON": sys.executable, "KERAS_BACKEND": "tensorflow", **env}
    done = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_train.sh"), str(out)], env=settings,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads((out / "recipe_status.json").read_text()), done.stdout


def test_one_job_trains_teachers_then_the_distilled_student(pack, tmp_path):
    status, _ = _job(tmp_path / "out", pack)
    assert status["finished"] and list(status["steps"]) == ["teacher1", "teacher2", "student"]
    student = tmp_path / "out" / "student"
    assert (student / "emotion7.keras").is_file() and (student / "emotion4.keras").is_file()
    record = json.loads((student / "config.json").read_text())
    assert record["config"]["teacher"] == [str(tmp_path / "out" / t) for t in ("teacher1", "teacher2")]
    for teacher in ("teacher1", "teacher2"):  # outputs kept, so weights need not travel
        with np.load(tmp_path / "out" / teacher / "train_logits.npz") as stored:
            assert stored["logits"].shape == (40, 7)
    with tarfile.open(tmp_path / "out" / "bundle.tar") as bundle:
        names = bundle.getnames()
    assert "./student/emotion7.keras" in names and "./log.txt" in names


def test_a_fresh_machine_carries_on_from_the_bundle_alone(pack, tmp_path):
    first = tmp_path / "first"
    _job(first, pack)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    shutil.copy(first / "bundle.tar", fresh / "bundle.tar")
    status, printed = _job(fresh, pack)
    assert status["finished"] and "== teacher" not in printed  # nothing trained again


def test_the_recipe_resumes_a_teacher_stopped_mid_way(pack, tmp_path, monkeypatch):
    from emotion_recognition.training import checkpoint, recipe

    original = checkpoint.RunCheckpoint.on_epoch_end

    def stop_after_first_epoch(self, epoch, logs=None):
        original(self, epoch, logs)
        self.model.stop_training = True
    monkeypatch.setattr(checkpoint.RunCheckpoint, "on_epoch_end", stop_after_first_epoch)
    status = recipe.run_recipe(str(pack), tmp_path, 300, "tiny", min_step_seconds=1)
    assert status["steps"]["teacher1"]["epochs_done"] == 1 and not status["finished"]
    assert status["steps"]["teacher2"]["epochs_done"] == 0  # the next step waits its turn
    monkeypatch.setattr(checkpoint.RunCheckpoint, "on_epoch_end", original)
    status = recipe.run_recipe(str(pack), tmp_path, 300, "tiny", min_step_seconds=1)
    assert status["finished"]
    history = np.genfromtxt(tmp_path / "teacher1" / "history.csv", delimiter=",", names=True)
    assert history["epoch"].tolist() == [0, 1]  # resumed at epoch 2, not started again


def test_the_gpu_recipe_is_wide_teachers_and_a_served_size_student():
    from emotion_recognition.training.recipe import recipe_steps

    steps = recipe_steps("gpu")
    assert [s.name for s in steps] == ["teacher1", "teacher2", "teacher3", "student"]
    student = steps[-1].options
    assert student[student.index("--width") + 1] == "24"
    assert steps[-1].teachers == ("teacher1", "teacher2", "teacher3")
    teacher = steps[0].options
    assert teacher[teacher.index("--width") + 1] == "64"  # ~4.7 M parameters
    with pytest.raises(ValueError):
        recipe_steps("huge")
