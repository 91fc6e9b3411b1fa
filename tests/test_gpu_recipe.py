"""The GPU job script and its clock-planned recipe, run on the CPU on a tiny subset."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile

import keras
import numpy as np
import pytest

from conftest import ROOT, kaggle_entries, write_kaggle_zip
from emotion_recognition.core.labels import FOUR, SEVEN

pytestmark = pytest.mark.training


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    from emotion_recognition.training.fer2013 import write_pack

    folder = tmp_path_factory.mktemp("pack")
    return write_pack(write_kaggle_zip(folder / "fer2013.zip", kaggle_entries(6)),
                      folder / "pack.npz")


def _job(out, pack, seconds=300, **env):
    """One job of scripts/gpu_train.sh, on TensorFlow's CPU (CI has no JAX)."""
    settings = {**os.environ, "PACK": str(pack), "RECIPE": "tiny", "JOB_SECONDS": str(seconds),
                "PYTHON": sys.executable, "KERAS_BACKEND": "tensorflow", **env}
    done = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_train.sh"), str(out)], env=settings,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads((out / "recipe_status.json").read_text()), done.stdout


def _names(tar_path):
    with tarfile.open(tar_path) as archive:
        return archive.getnames()


def test_one_job_ends_with_calibrated_served_models(pack, tmp_path):
    status, _ = _job(tmp_path / "out", pack)
    out = tmp_path / "out"
    assert status["finished"] and status["served_from"] == {"emotion7": "student2",
                                                            "emotion4": "student2"}
    assert set(status["steps"]) == {"teacher1", "teacher2", "student2"}
    for step in status["steps"].values():  # every run chose its epochs by the clock
        assert step["finished"] and step["planned_epochs"] == step["epochs_done"] > 0
    record = json.loads((out / "student2" / "config.json").read_text())
    assert record["config"]["teacher"] == [str(out / t) for t in ("teacher1", "teacher2")]
    for teacher in ("teacher1", "teacher2"):  # outputs kept, so weights need not travel
        with np.load(out / teacher / "train_logits.npz") as stored:
            assert stored["logits"].shape == (40, 7)
    calibration = json.loads((out / "served" / "calibration.json").read_text())
    assert calibration["emotion7"]["temperature"] > 0 and calibration["emotion4"]["temperature"] > 0
    served = keras.saving.load_model(out / "served" / "emotion4.keras", compile=False)
    assert served.output_shape == (None, 4) and "calibration" in [l.name for l in served.layers]
    seven = keras.saving.load_model(out / "served" / "emotion7.keras", compile=False)
    # one network serves both sets (one LiteRT file): emotion4 is the student's logits over four
    assert _network_digest(served, FOUR) == _network_digest(seven, SEVEN)
    assert "./served/emotion7.keras" in _names(out / "results.tar")
    assert "./teacher1/checkpoint/weights.weights.h5" not in _names(out / "results.tar")
    assert "./log.txt" in _names(out / "bundle.tar")


def test_a_short_budget_still_ends_with_an_exported_student(pack, tmp_path):
    status, printed = _job(tmp_path / "out", pack, seconds=60)
    assert status["finished"], printed[-2000:]
    assert (tmp_path / "out" / "served" / "emotion7.keras").is_file()
    assert sum(step["seconds"] for step in status["steps"].values()) < 60


def test_a_fresh_machine_carries_on_from_the_bundle_alone(pack, tmp_path):
    first = tmp_path / "first"
    _job(first, pack)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "bundle.tar").write_bytes((first / "bundle.tar").read_bytes())
    status, printed = _job(fresh, pack)
    assert status["finished"] and "== " not in printed  # nothing trained again


def test_the_recipe_resumes_a_teacher_stopped_mid_way(pack, tmp_path, monkeypatch):
    from emotion_recognition.training import checkpoint, recipe

    original = checkpoint.RunCheckpoint.on_epoch_end

    def stop_after_first_epoch(self, epoch, logs=None):
        original(self, epoch, logs)
        self.model.stop_training = True
    monkeypatch.setattr(checkpoint.RunCheckpoint, "on_epoch_end", stop_after_first_epoch)
    status = recipe.run_recipe(str(pack), tmp_path, 300, "tiny", min_step_seconds=1)
    assert status["steps"]["teacher1"]["epochs_done"] == 1 and not status["finished"]
    assert set(status["steps"]) == {"teacher1"}  # the student waits for a finished teacher
    monkeypatch.setattr(checkpoint.RunCheckpoint, "on_epoch_end", original)
    status = recipe.run_recipe(str(pack), tmp_path, 300, "tiny", min_step_seconds=1)
    assert status["finished"]
    history = np.genfromtxt(tmp_path / "teacher1" / "history.csv", delimiter=",", names=True)
    assert history["epoch"].tolist() == [0, 1, 2]  # resumed at epoch 2, not started again


def _network_digest(served, emotions) -> str:
    from emotion_recognition.training.export_litert import served_parts, weights_digest

    network, _ = served_parts(served, emotions)
    return weights_digest(network)


def test_the_gpu_recipe_spends_the_job_on_the_served_width():
    from emotion_recognition.training.architectures import vgg
    from emotion_recognition.training.recipe import RECIPES, student_options, teacher_options

    gpu = RECIPES["gpu"]
    teacher, student = teacher_options(gpu, 1), student_options(gpu, [])
    widths = {int(options[options.index("--width") + 1]) for options in (teacher, student)}
    assert len(widths) == 1  # the teachers are seeds of the network that will be served
    parameters = vgg(7, width=widths.pop()).count_params()
    served = keras.saving.load_model(ROOT / "model" / "emotion7.keras", compile=False)
    # 5-10x the network served before, and at most 10 MB as an int8 file (a byte a weight)
    assert 5 * served.count_params() <= parameters <= 10e6
    assert gpu.max_teachers == 2 and gpu.student_share < 0.5  # the seeds get most of the job


# --- the clock plan, the bundle and the precision, without training --------------------------

def test_the_learning_rate_warms_up_then_decays_over_the_planned_epochs():
    from emotion_recognition.training.schedule import epoch_learning_rate

    rates = [epoch_learning_rate(e, 10, 0.05, 2) for e in range(10)]
    assert rates[0] == pytest.approx(0.005) and rates[2] == pytest.approx(0.05)
    assert all(a > b for a, b in zip(rates[2:], rates[3:])) and rates[-1] < 0.003


def test_the_plan_fits_the_time_left_and_never_exceeds_the_maximum():
    from emotion_recognition.training.schedule import planned_epochs

    assert planned_epochs(2, 100.0, 1.0, 500) == 2 + int(100 // 1.05)
    assert planned_epochs(2, 1000.0, 1.0, 50) == 50
    assert planned_epochs(5, -3.0, 1.0, 50) == 5  # out of time: stop where it is


def _fake_run(folder, finished, weights_mib):
    from emotion_recognition.training.checkpoint import RunState

    (folder / "checkpoint").mkdir(parents=True)
    (folder / "checkpoint" / "state.json").write_text(json.dumps(
        RunState(epochs_done=3, finished=finished).__dict__))
    (folder / "checkpoint" / "weights.weights.h5").write_bytes(b"w" * (weights_mib << 20))
    (folder / "best.weights.h5").write_bytes(b"b" * (weights_mib << 20))
    (folder / "history.csv").write_text("epoch\n0\n")


def test_the_bundle_keeps_what_a_later_loan_needs_first_and_fits_its_limit(tmp_path):
    from emotion_recognition.training.bundle import bundle_files, results_files

    _fake_run(tmp_path / "teacher1", finished=True, weights_mib=18)
    _fake_run(tmp_path / "teacher2", finished=False, weights_mib=3)
    _fake_run(tmp_path / "student1", finished=True, weights_mib=2)
    (tmp_path / "teacher1" / "train_logits.npz").write_bytes(b"l" * 800_000)
    chosen = {str(p.relative_to(tmp_path)) for p in bundle_files(tmp_path, 5 << 20)}
    assert "teacher1/train_logits.npz" in chosen and "teacher2/history.csv" in chosen
    assert "teacher2/checkpoint/weights.weights.h5" in chosen  # to go on from
    assert "teacher1/best.weights.h5" not in chosen  # a finished teacher: its outputs suffice
    assert "student1/best.weights.h5" not in chosen  # no room left under 5 MiB
    roomy = {str(p.relative_to(tmp_path)) for p in bundle_files(tmp_path, 8 << 20)}
    assert "student1/best.weights.h5" in roomy
    results = {str(p.relative_to(tmp_path)) for p in results_files(tmp_path)}
    assert "teacher1/checkpoint/weights.weights.h5" not in results
    assert "teacher2/checkpoint/weights.weights.h5" in results


def test_auto_precision_is_bfloat16_only_where_the_cpu_has_it():
    from emotion_recognition.training import precision

    assert precision.cpu_has_bfloat16("flags : fpu sse avx512f amx_bf16 amx_tile")
    assert not precision.cpu_has_bfloat16("flags : fpu sse avx2 avx512f")
    assert precision.resolve("float32") == "float32"
    assert precision.resolve("auto") in ("float32", "mixed_bfloat16")
    with pytest.raises(ValueError):
        precision.resolve("float16")


def test_a_bfloat16_network_and_its_float32_copy_agree_within_the_tolerance():
    from emotion_recognition.training import precision
    from emotion_recognition.training.architectures import vgg

    rng = np.random.default_rng(0)
    with precision.dtype_policy("mixed_bfloat16"):
        trained = vgg(7, width=8)
    trained.set_weights([w + rng.normal(0, 0.1, w.shape).astype(np.float32) * (w.ndim > 1)
                         for w in trained.get_weights()])  # confident, non-uniform outputs
    with precision.float32_policy():
        served = vgg(7, width=8)
    served.set_weights(trained.get_weights())
    assert all(layer.dtype_policy.name == "float32" for layer in served.layers)
    faces = rng.integers(0, 256, (64, 48, 48, 1)).astype(np.float32)
    check = precision.agreement(trained, served, faces)
    assert check["max_probability_difference"] > 0  # bfloat16 arithmetic really differed
    assert check["within_tolerance"], check
    assert keras.config.dtype_policy().name == "float32"  # the global policy was restored


def test_a_run_out_of_time_after_its_first_epoch_plans_to_end_there():
    import time
    from types import SimpleNamespace

    from emotion_recognition.training.checkpoint import RunState
    from emotion_recognition.training.schedule import ClockPlan

    state = RunState()
    model = SimpleNamespace(optimizer=SimpleNamespace(learning_rate=None), stop_training=False)
    plan = ClockPlan(state, 0.05, 2, max_epochs=100, plan_deadline=time.monotonic() + 0.5)
    plan.set_model(model)
    plan.on_epoch_begin(0)
    assert model.optimizer.learning_rate == pytest.approx(0.005)  # warm-up starts at a tenth
    time.sleep(0.4)  # an epoch that leaves no room for a second like it
    plan.on_epoch_end(0)
    assert state.planned_epochs == 1 and model.stop_training
