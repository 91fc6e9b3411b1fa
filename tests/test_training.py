"""Training, class weighting, export and evaluation, on a tiny synthetic data set."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from emotion_recognition.core.labels import EMOTIONS4, EMOTIONS7, FOUR, SEVEN
from emotion_recognition.training import evaluate, train
from emotion_recognition.training.architectures import ARCHITECTURES, build
from emotion_recognition.training.augment import AugmentedFaces, class_weights

pytestmark = pytest.mark.training


def test_class_weights_have_mean_one_over_images():
    labels = np.array([0] * 90 + [1] * 10)
    for mode, ratio in (("none", 1.0), ("sqrt", 3.0), ("inverse", 9.0)):
        weights = class_weights(labels, 2, mode)
        assert weights[1] / weights[0] == pytest.approx(ratio)
        assert (weights[labels]).mean() == pytest.approx(1.0)
    with pytest.raises(ValueError):
        class_weights(labels, 2, "focal")


def test_augmented_batches_keep_shape_range_and_labels():
    images = np.random.default_rng(0).integers(0, 256, (10, 48, 48)).astype(np.uint8)
    targets = np.eye(7, dtype=np.float32)[np.arange(10) % 7]
    batches = AugmentedFaces(images, targets, np.ones(10, np.float32), batch_size=4, seed=1)
    assert len(batches) == 3
    faces, batch_targets, weights = batches[0]
    assert faces.shape == (4, 48, 48, 1) and 0 <= faces.min() and faces.max() <= 255
    rows = batches.order(0)[:4]
    assert np.array_equal(batch_targets, targets[rows]) and weights.shape == (4,)


def test_a_batch_depends_only_on_seed_epoch_and_index():
    images = np.random.default_rng(0).integers(0, 256, (10, 48, 48)).astype(np.uint8)
    targets = np.eye(7, dtype=np.float32)[np.arange(10) % 7]
    make = lambda start: AugmentedFaces(images, targets, np.ones(10, np.float32), 4, seed=1,
                                        start_epoch=start)
    going_on, resumed = make(0), make(2)
    _ = [going_on[i] for i in range(7)]  # other batches first: no effect on later ones
    assert np.array_equal(going_on[6][0], resumed[0][0])  # stream batch 6 = epoch 2, batch 0
    assert not np.array_equal(going_on[0][0], going_on[3][0])  # epochs differ
    assert going_on.num_batches is None and len(going_on) == 3


def test_mixup_blends_each_face_its_targets_and_its_weight_by_one_weight():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (7, 48, 48)).astype(np.uint8)
    targets = np.eye(7, dtype=np.float32)  # one face a class: a target names both faces
    weights = np.arange(1, 8, dtype=np.float32)
    make = lambda start: AugmentedFaces(images, targets, weights, 7, seed=5, augment=False,
                                        start_epoch=start, mixup=0.4)
    faces, mixed, mixed_weights = make(0)[3]
    assert np.allclose(mixed.sum(axis=1), 1) and (mixed.max(axis=1) < 1).any()
    for face, target, weight in zip(faces[..., 0], mixed, mixed_weights):
        first, second = np.argsort(target)[::-1][:2]  # the two classes = the two faces
        share = target[first] if target[second] > 0 else 1.0
        blend = share * images[first] + (1 - share) * images[second if target[second] else first]
        assert np.allclose(face, blend, atol=0.05)
        assert weight == pytest.approx(share * weights[first] + (1 - share)
                                       * weights[second if target[second] else first], abs=1e-4)
    assert np.array_equal(make(3)[0][0], faces)  # a resumed run mixes the same way
    plain = AugmentedFaces(images, targets, weights, 7, seed=5, augment=False)
    assert np.array_equal(plain[0][1], targets[plain.order(0)])  # mixup 0: nothing blended


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_architectures_take_raw_faces_and_end_in_logits(name):
    model = build(name, 7, width=4)
    assert model.input_shape == (None, 48, 48, 1) and model.output_shape == (None, 7)
    assert model.get_layer("logits").output.shape[-1] == 7
    out = model(np.full((2, 48, 48, 1), 255.0, np.float32))
    assert np.allclose(np.asarray(out).sum(1), 1.0, atol=1e-5)


def test_train_writes_config_curves_and_served_models(fer_zip, tmp_path):
    out = tmp_path / "run"
    summary = train.train(train.parse_args(["--data", str(fer_zip), "--epochs", "2", "--width", "4",
                                            "--batch-size", "8", "--out", str(out)]))
    assert 1 <= summary["best_epoch"] <= 2
    record = json.loads((out / "config.json").read_text())
    assert record["config"]["seed"] == 1234 and record["config"]["class_weighting"] == "sqrt"
    assert record["train_images"] == 28 and len(record["class_weights"]) == 7
    assert (out / "history.csv").read_text().count("\n") == 3  # header + 2 epochs
    labels = json.loads((out / "labels.json").read_text())
    assert labels == {"emotion7": list(EMOTIONS7), "emotion4": list(EMOTIONS4)}
    model = keras.saving.load_model(out / "emotion4.keras", safe_mode=True)
    assert model.output_shape == (None, 4)
    assert (out / "emotion7.keras").stat().st_size < (out / "best.weights.h5").stat().st_size * 3


def test_score_counts_exactly():
    true = np.array([0, 0, 1, 1, 2, 2])
    predicted = np.array([0, 1, 1, 1, 2, 0])
    result = evaluate.score(true, predicted, ("a", "b", "c"))
    assert result.accuracy == pytest.approx(4 / 6)
    assert result.recall == pytest.approx({"a": 0.5, "b": 1.0, "c": 0.5})
    assert result.confusion.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    f1 = [2 * 0.5 * 0.5 / 1.0, 2 * (2 / 3) * 1 / (2 / 3 + 1), 2 * 1 * 0.5 / 1.5]
    assert result.macro_f1 == pytest.approx(np.mean(f1))


def test_restrict_to_four_classes_reindexes_labels():
    labels7 = np.array([0, 1, 3, 4, 6, 5])
    mask, labels4 = FOUR.restrict(labels7)
    assert mask.tolist() == [True, False, True, True, True, False]
    assert labels4.tolist() == [0, 1, 2, 3]


def test_evaluate_command_prints_and_plots(fer_zip, tiny_model_dir, tmp_path, capsys):
    evaluate.main(["--data", str(fer_zip), "--model-dir", str(tiny_model_dir),
                   "--plots", str(tmp_path), "--json", str(tmp_path / "scores.json")])
    printed = capsys.readouterr().out
    assert "FER2013 PrivateTest" in printed and "ours-4" in printed and "macro-F1" in printed
    assert (tmp_path / "confusion_emotion7_privatetest.png").stat().st_size > 1000
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert 0 <= scores["PrivateTest"]["ours-7"]["accuracy"] <= 1
    assert len(scores["PublicTest"]["ours-4"]["confusion"]) == 4


def test_head_for_subset_starts_as_the_renormalised_seven_class_model():
    from emotion_recognition.training.export import head_for_subset

    network = build("vgg", 7, width=4)
    four = head_for_subset(network, FOUR)
    faces = np.random.default_rng(3).integers(0, 256, (3, 48, 48, 1)).astype(np.float32)
    seven = np.asarray(network(faces))[:, [EMOTIONS7.index(n) for n in EMOTIONS4]]
    assert np.allclose(np.asarray(four(faces)), seven / seven.sum(1, keepdims=True), atol=1e-5)


def test_four_class_fine_tune_from_a_seven_class_run(fer_zip, tmp_path):
    from emotion_recognition.training.export import network_from_run

    base = tmp_path / "seven"
    train.train(train.parse_args(["--data", str(fer_zip), "--epochs", "1", "--width", "4",
                                  "--out", str(base)]))
    tuned = tmp_path / "four"
    summary = train.train(train.parse_args([
        "--data", str(fer_zip), "--epochs", "1", "--classes", "emotion4",
        "--init-from", str(base), "--learning-rate", "0.01", "--out", str(tuned)]))
    record = json.loads((tuned / "config.json").read_text())
    assert record["classes"] == list(EMOTIONS4) and record["train_images"] == 16
    assert record["config"]["width"] == 4  # the init run's network, whatever --width says
    network, classes = network_from_run(tuned)
    assert classes == FOUR and network.output_shape == (None, 4)
    assert summary["best_epoch"] == 1
    assert (tuned / "emotion4.keras").is_file() and not (tuned / "emotion7.keras").exists()
    model = keras.saving.load_model(tuned / "emotion4.keras", safe_mode=True)
    assert model.output_shape == (None, 4)


def test_ferplus_votes_blend_into_targets_without_changing_the_label(tmp_path):
    from emotion_recognition.training.fer2013 import Split

    (tmp_path / "fer2013new.csv").write_text(
        "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,"
        "unknown,NF\nTraining,fer0.png,6,4,0,0,0,0,0,0,0,0\n")
    (tmp_path / "kaggle_to_fer2013_row.csv").write_text(
        "path,usage,emotion,fer2013_row\ntrain/happy/Training_1.jpg,Training,happy,0\n")
    keys = ("train/happy/Training_1.jpg", "train/sad/Training_2.jpg")
    split = Split(np.zeros((2, 48, 48), np.uint8), np.array([3, 4]), keys)
    config = train.TrainConfig(data=str(tmp_path / "fer2013.zip"), ferplus_blend=0.3)
    targets = train._targets(split, SEVEN, config)
    assert targets[0, EMOTIONS7.index("happy")] == pytest.approx(0.7 + 0.3 * 0.4)
    assert targets[0, EMOTIONS7.index("neutral")] == pytest.approx(0.3 * 0.6)
    assert targets.argmax(1).tolist() == [3, 4] and np.allclose(targets.sum(1), 1)
    assert targets[1].tolist() == np.eye(7)[4].tolist()  # no FER+ row: the plain label
    four = train._targets(Split(split.images, np.array([1, 2]), keys), FOUR, config)
    assert four[0].tolist() == pytest.approx([0, 0.82, 0, 0.18])
    plain = train._targets(split, EMOTIONS7, train.TrainConfig(data="unused"))
    assert plain.tolist() == np.eye(7)[[3, 4]].tolist()


def test_ensemble_averages_the_logits_of_its_members(tmp_path):
    from emotion_recognition.training.export import save_served_models

    keras.utils.set_random_seed(5)
    members = [build("vgg", 7, width=4), build("vgg", 7, width=4)]
    paths = save_served_models(members, tmp_path, tta="none")
    ensemble = keras.saving.load_model(paths["emotion7"], safe_mode=True)
    for member in members:  # as stored: float16 weights (save_served)
        member.set_weights([w.astype(np.float16).astype(np.float32) for w in member.get_weights()])
    faces = np.random.default_rng(4).integers(0, 256, (3, 48, 48, 1)).astype(np.float32)
    logits = [np.asarray(keras.Model(m.inputs, m.get_layer("logits").output)(faces))
              for m in members]
    expected = np.asarray(keras.ops.softmax(np.mean(logits, axis=0)))
    assert np.allclose(np.asarray(ensemble(faces)), expected, atol=1e-5)
    assert not np.allclose(expected, np.asarray(members[0](faces)), atol=1e-3)
    four = keras.saving.load_model(paths["emotion4"], safe_mode=True)
    assert four.output_shape == (None, 4)


def test_served_files_store_float16_weights_and_compute_in_float32(tmp_path):
    """A served .keras file holds its weights as float16 (half the file: a width-64 VGG fits
    a Space's 10 MB), loads with safe_mode into float32 variables, and answers as the
    trained network within float16's rounding."""
    import zipfile

    import h5py

    from emotion_recognition.training.export import save_served_models

    keras.utils.set_random_seed(3)
    network = build("vgg", 7, width=8)
    path = save_served_models(network, tmp_path, tta="flip")["emotion7"]
    plain = tmp_path / "plain.keras"
    served = keras.saving.load_model(path, safe_mode=True)
    served.save(plain)  # what Keras itself stores: float32
    saved = plain.stat().st_size - path.stat().st_size
    assert saved > 0.9 * 2 * network.count_params()  # 2 of every weight's 4 bytes
    with zipfile.ZipFile(path) as archive:
        (tmp_path / "w.h5").write_bytes(archive.read("model.weights.h5"))
    dtypes = set()
    with h5py.File(tmp_path / "w.h5") as store:
        store.visititems(lambda _, item: dtypes.add(str(item.dtype))
                         if isinstance(item, h5py.Dataset) else None)
    assert "float16" in dtypes and "float32" not in dtypes
    assert {str(v.dtype) for v in served.weights} == {"float32"}
    faces = np.random.default_rng(1).integers(0, 256, (8, 48, 48, 1)).astype(np.float32)
    reference = np.asarray(save_served_models_reference(network)(faces))
    assert np.abs(np.asarray(served(faces)) - reference).max() < 5e-3


def save_served_models_reference(network):
    """The served graph of ``network`` with its float32 weights, never saved."""
    from emotion_recognition.training.export import served_model

    return served_model(network, SEVEN, "flip")


def test_selection_compares_runs_and_their_ensemble_on_public_test(fer_zip, tmp_path, capsys):
    from emotion_recognition.training import selection

    runs = []
    for seed in ("1", "2"):
        runs.append(tmp_path / f"run{seed}")
        train.train(train.parse_args(["--data", str(fer_zip), "--epochs", "1", "--width", "4",
                                      "--seed", seed, "--out", str(runs[-1])]))
    runs.append(tmp_path / "four")
    train.train(train.parse_args(["--data", str(fer_zip), "--epochs", "1", "--classes",
                                  "emotion4", "--init-from", str(runs[0]), "--out", str(runs[-1])]))
    selection.main(["--data", str(fer_zip), "--runs", *map(str, runs),
                    "--tta", "none", "flip", "--json", str(tmp_path / "table.json")])
    table = json.loads((tmp_path / "table.json").read_text())
    assert [(row["candidate"], row["tta"]) for row in table] == [
        ("run1", "none"), ("run1", "flip"), ("run2", "none"), ("run2", "flip"),
        ("four", "none"), ("four", "flip"),
        ("ensemble(run1+run2)", "none"), ("ensemble(run1+run2)", "flip")]
    assert all(0 <= row["accuracy4"] <= 1 for row in table)
    assert [row["accuracy7"] is None for row in table] == [False] * 4 + [True] * 2 + [False] * 2
    assert "PublicTest" in capsys.readouterr().out


def _stop_after(monkeypatch, epochs: int):
    """Make every run stop after ``epochs`` epochs, as a time budget would."""
    from emotion_recognition.training import checkpoint

    original = checkpoint.RunCheckpoint.on_epoch_end

    def on_epoch_end(self, epoch, logs=None):
        original(self, epoch, logs)
        if epoch + 1 == epochs:
            self.model.stop_training = True
    monkeypatch.setattr(checkpoint.RunCheckpoint, "on_epoch_end", on_epoch_end)
    return original


def _checkpoint_weights(run):
    network = build("vgg", 7, width=4)
    network.load_weights(run / "checkpoint" / "weights.weights.h5")
    return network.get_weights()


def test_two_plus_two_epochs_with_a_resume_equal_four_in_one_go(fer_zip, tmp_path, monkeypatch):
    from emotion_recognition.training import checkpoint

    options = ["--data", str(fer_zip), "--epochs", "4", "--width", "4", "--batch-size", "8"]
    train.train(train.parse_args(options + ["--out", str(tmp_path / "straight")]))
    original = _stop_after(monkeypatch, 2)
    first = train.train(train.parse_args(options + ["--out", str(tmp_path / "resumed")]))
    assert first["epochs_done"] == 2 and not first["finished"]
    monkeypatch.setattr(checkpoint.RunCheckpoint, "on_epoch_end", original)
    second = train.train(train.parse_args(["--resume", str(tmp_path / "resumed")]))
    assert second["epochs_done"] == 4 and second["finished"]

    straight, resumed = (np.genfromtxt(tmp_path / name / "history.csv", delimiter=",",
                                       names=True) for name in ("straight", "resumed"))
    assert len(straight) == len(resumed) == 4
    assert resumed["epoch"].tolist() == [0, 1, 2, 3]
    # TensorFlow on the CPU is deterministic here: the same losses and the same weights
    assert np.allclose(straight["loss"], resumed["loss"], rtol=1e-5)
    for a, b in zip(_checkpoint_weights(tmp_path / "straight"),
                    _checkpoint_weights(tmp_path / "resumed")):
        assert np.allclose(a, b, atol=1e-5)
    state = checkpoint.read_state(tmp_path / "resumed")
    assert state.epochs_done == 4 and state.finished
    record = json.loads((tmp_path / "resumed" / "config.json").read_text())
    assert len(record["resumed"]) == 1


def test_resumed_optimizer_carries_the_schedule_step(fer_zip, tmp_path, monkeypatch):
    from emotion_recognition.training import checkpoint

    _stop_after(monkeypatch, 1)
    run = tmp_path / "run"
    train.train(train.parse_args(["--data", str(fer_zip), "--epochs", "3", "--width", "4",
                                  "--batch-size", "8", "--out", str(run)]))
    config = train.parse_args(["--resume", str(run)])
    model = build("vgg", 7, width=4)
    train._compile(model, config, steps_per_epoch=4, num_classes=7)
    state = checkpoint.restore_checkpoint(model, run)
    assert state.epochs_done == 1
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 4  # 28 images / 8


def test_time_budget_stops_cleanly_and_the_run_resumes(fer_zip, tmp_path):
    from emotion_recognition.training import checkpoint

    run = tmp_path / "run"
    summary = train.train(train.parse_args([
        "--data", str(fer_zip), "--epochs", "50", "--width", "4", "--batch-size", "8",
        "--time-budget", "1", "--out", str(run)]))
    state = checkpoint.read_state(run)
    assert 1 <= summary["epochs_done"] < 50 and state.stopped_by_time_budget
    assert not state.finished and (run / "emotion7.keras").is_file()  # usable meanwhile
    config = train.parse_args(["--resume", str(run), "--time-budget", "600"])
    assert config.epochs == 50 and config.time_budget == 600 and config.out == str(run)
    with pytest.raises(SystemExit):  # a fresh run never silently continues an old one
        train.parse_args(["--data", str(fer_zip), "--epochs", "3", "--out", str(run)])


def test_resume_refuses_to_change_the_recipe(fer_zip, tmp_path):
    with pytest.raises(SystemExit):
        train.parse_args(["--resume", str(tmp_path), "--learning-rate", "0.1"])
    with pytest.raises(SystemExit):
        train.parse_args(["--epochs", "3"])  # neither --data nor --resume


def test_distillation_loss_mixes_labels_and_teacher():
    from emotion_recognition.training.distill import DistillationLoss, soften

    student = np.array([[0.7, 0.2, 0.1]], np.float32)
    labels = np.array([[1.0, 0.0, 0.0]], np.float32)
    teacher = soften(np.log(np.array([[0.7, 0.2, 0.1]], np.float32)), 2.0)
    only_labels = DistillationLoss(3, temperature=2.0, weight=0.0)
    assert float(only_labels(np.concatenate([labels, teacher], 1), student)) == pytest.approx(
        -np.log(0.7), rel=1e-4)
    only_teacher = DistillationLoss(3, temperature=2.0, weight=1.0)
    # the student already matches the teacher: no divergence left
    assert float(only_teacher(np.concatenate([labels, teacher], 1), student)) == pytest.approx(
        0.0, abs=1e-5)
    disagreeing = soften(np.log(np.array([[0.1, 0.2, 0.7]], np.float32)), 2.0)
    assert float(only_teacher(np.concatenate([labels, disagreeing], 1), student)) > 0.1


def test_distillation_run_stores_teacher_targets_and_reuses_them(fer_zip, tiny_model_dir,
                                                                  tmp_path):
    teacher = tmp_path / "teacher"
    train.train(train.parse_args(["--data", str(fer_zip), "--epochs", "1", "--width", "4",
                                  "--out", str(teacher)]))
    student = tmp_path / "student"
    summary = train.train(train.parse_args([
        "--data", str(fer_zip), "--epochs", "1", "--width", "4", "--out", str(student),
        "--teacher", str(teacher), str(tiny_model_dir / "emotion7.keras"),
        "--distill-temperature", "3"]))
    assert summary["epochs_done"] == 1
    with np.load(student / "teacher_targets.npz") as stored:
        assert stored["logits"].shape == (28, 7) and len(stored["teachers"]) == 2
        assert np.isfinite(stored["logits"]).all()
    record = json.loads((student / "config.json").read_text())
    assert record["config"]["teacher"] == [str(teacher), str(tiny_model_dir / "emotion7.keras")]
    history = np.genfromtxt(student / "history.csv", delimiter=",", names=True)
    assert 0 <= float(history["accuracy"]) <= 1  # accuracy against the labels, not the teacher


def test_a_served_model_unpacks_into_its_network(tiny_model_dir):
    from emotion_recognition.training.export import network_from_served, served_model

    network, classes = network_from_served(tiny_model_dir / "emotion7.keras")
    assert classes.name == "emotion7"
    faces = np.random.default_rng(4).integers(0, 256, (3, 48, 48, 1)).astype(np.float32)
    served = keras.saving.load_model(tiny_model_dir / "emotion7.keras", safe_mode=True)
    rebuilt = served_model(network, classes, "flip")
    assert np.allclose(served.predict(faces, verbose=0), rebuilt.predict(faces, verbose=0),
                       atol=1e-5)
