"""FER2013 loaders: Kaggle zip, Kaggle folder, fer2013.csv, and broken input."""

from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest

from conftest import kaggle_entries, synthetic_face, write_kaggle_zip
from emotion_recognition.core.errors import DatasetError
from emotion_recognition.core.labels import EMOTIONS7
from emotion_recognition.training.data import load_csv, load_fer2013, load_ferplus_votes

pytestmark = pytest.mark.unit


def test_zip_splits_by_prefix_and_labels_by_folder(fer_zip):
    splits = load_fer2013(fer_zip)
    assert [len(splits[s]) for s in ("Training", "PublicTest", "PrivateTest")] == [28, 28, 28]
    training = splits["Training"]
    assert training.images.shape == (28, 48, 48) and training.images.dtype == np.uint8
    assert training.class_counts().tolist() == [4] * 7
    key = training.keys[int(np.flatnonzero(training.labels == 3)[0])]
    assert key.startswith("train/happy/Training_")
    assert all(k.startswith("test/") and "PrivateTest_" in k for k in splits["PrivateTest"].keys)


def test_folder_layout_gives_the_same_images_as_the_zip(tmp_path, fer_zip):
    for name, image in kaggle_entries().items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), image)
    from_folder, from_zip = load_fer2013(tmp_path), load_fer2013(fer_zip)
    for split in ("Training", "PublicTest", "PrivateTest"):
        order_f = np.argsort(from_folder[split].keys)
        order_z = np.argsort(from_zip[split].keys)
        assert np.array_equal(from_folder[split].labels[order_f], from_zip[split].labels[order_z])
        assert np.array_equal(from_folder[split].images[order_f], from_zip[split].images[order_z])


def test_same_file_name_in_two_class_folders_is_kept_twice(tmp_path):
    entries = {"train/angry/Training_1.jpg": synthetic_face(0, 1),
               "train/surprise/Training_1.jpg": synthetic_face(5, 2)}
    split = load_fer2013(write_kaggle_zip(tmp_path / "d.zip", entries))["Training"]
    assert sorted(split.labels.tolist()) == [0, 5]
    assert len(set(split.keys)) == 2


def _write_csv(path, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["emotion", "pixels", "Usage"])
        writer.writerows(rows)
    return path


def test_csv_layout(tmp_path):
    face = synthetic_face(2, 0)
    pixels = " ".join(map(str, face.ravel()))
    path = _write_csv(tmp_path / "fer2013.csv", [[2, pixels, "Training"], [6, pixels, "PublicTest"],
                                                 [3, pixels, "PrivateTest"], [0, pixels, "Training"]])
    splits = load_fer2013(path)
    assert splits["Training"].labels.tolist() == [2, 0]
    assert splits["PublicTest"].labels.tolist() == [6]
    assert np.array_equal(splits["PrivateTest"].images[0], face)
    assert load_fer2013(tmp_path)["Training"].labels.tolist() == [2, 0]  # folder holding the CSV


@pytest.mark.parametrize("row, message", [
    (["9", "0 " * 2304, "Training"], "outside 0-6"),
    (["x", "0 " * 2304, "Training"], "not an integer"),
    (["1", "0 1 2", "Training"], "2304 pixel values"),
    (["1", "0 " * 2304, "Validation"], "unknown Usage"),
])
def test_csv_errors_name_the_row(tmp_path, row, message):
    path = _write_csv(tmp_path / "fer2013.csv", [row])
    with pytest.raises(DatasetError, match=message) as error:
        load_csv(path)
    assert "row 0" in str(error.value)


def test_missing_data_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_fer2013(tmp_path / "nowhere.zip")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no train/ or test/ folder"):
        load_fer2013(tmp_path / "empty")


def test_unknown_class_folder_is_named(tmp_path):
    entries = {"train/contempt/Training_5.jpg": synthetic_face(0, 0)}
    with pytest.raises(DatasetError, match="unknown class folder 'contempt'"):
        load_fer2013(write_kaggle_zip(tmp_path / "d.zip", entries))


def test_corrupt_image_names_the_file(tmp_path):
    raw = {"test/sad/PublicTest_77.jpg": b"\xff\xd8\xff\xe0 truncated jpeg"}
    with pytest.raises(DatasetError, match="test/sad/PublicTest_77.jpg"):
        load_fer2013(write_kaggle_zip(tmp_path / "d.zip", kaggle_entries(1), raw))


def test_not_a_dataset_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(DatasetError, match="neither a folder"):
        load_fer2013(path)


def test_ferplus_votes_attach_by_path(tmp_path):
    votes = tmp_path / "fer2013new.csv"
    votes.write_text("Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,"
                     "contempt,unknown,NF\nTraining,fer0.png,2,8,0,0,0,0,0,0,0,0\n"
                     "Training,fer1.png,0,0,0,0,5,0,0,5,0,0\n")
    row_map = tmp_path / "map.csv"
    row_map.write_text("path,usage,emotion,fer2013_row\ntrain/happy/Training_1.jpg,Training,happy,0\n"
                       "train/angry/Training_2.jpg,Training,angry,1\ntrain/sad/Training_3.jpg,Training,sad,\n")
    result = load_ferplus_votes(votes, row_map, ("train/happy/Training_1.jpg",
                                                 "train/angry/Training_2.jpg", "train/sad/Training_3.jpg"))
    assert result[0, EMOTIONS7.index("happy")] == pytest.approx(0.8)
    assert result[0, EMOTIONS7.index("neutral")] == pytest.approx(0.2)
    assert result[1, EMOTIONS7.index("angry")] == pytest.approx(1.0)  # contempt dropped
    assert np.isnan(result[2]).all()


def test_training_pack_reads_like_the_zip_and_leaves_private_test_out(tmp_path):
    from emotion_recognition.training.pack import main as pack_main

    entries = kaggle_entries()
    entries["train/neutral/Training_8475486.jpg"] = synthetic_face(6, 1)  # a name in two
    entries["train/surprise/Training_8475486.jpg"] = synthetic_face(5, 2)  # class folders
    source = write_kaggle_zip(tmp_path / "fer2013.zip", entries)
    pack_main(["--data", str(source), "--out", str(tmp_path / "pack.npz")])
    from_pack, from_zip = load_fer2013(tmp_path / "pack.npz"), load_fer2013(source)
    for split in ("Training", "PublicTest"):
        assert from_pack[split].keys == from_zip[split].keys
        assert np.array_equal(from_pack[split].labels, from_zip[split].labels)
        assert np.array_equal(from_pack[split].images, from_zip[split].images)
    assert len(from_pack["Training"]) == 30 and len(from_pack["PrivateTest"]) == 0


def test_a_file_that_is_not_a_pack_is_a_clear_error(tmp_path):
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(DatasetError, match="not a training pack"):
        load_fer2013(tmp_path / "other.npz")
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(DatasetError, match="training pack"):
        load_fer2013(tmp_path / "broken.npz")
