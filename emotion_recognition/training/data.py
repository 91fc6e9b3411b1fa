"""Read FER2013 in the two forms people download it in.

* the Kaggle image layout, as a zip or an extracted folder:
  ``train/<emotion>/Training_*.jpg`` and ``test/<emotion>/{PublicTest,PrivateTest}_*.jpg``;
* the original ``fer2013.csv`` with the columns ``emotion, pixels, Usage``.

Both give the same thing (and so does a training pack, training.fer2013): for each split
(Training, PublicTest, PrivateTest) a uint8 array of 48x48 grey faces, integer labels in
``EMOTIONS7`` order, and a key per image. Also the FER+ votes of ten annotators per image.
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import numpy as np

from emotion_recognition.core.crops import FACE_SIZE
from emotion_recognition.core.errors import DatasetError
from emotion_recognition.core.labels import EMOTIONS7, INDEX_OF
from emotion_recognition.training.fer2013 import (SPLITS, Split, decode_grey_face, load_pack,
                                                  make_split, parse_entry_name)


def load_fer2013(path: str | Path) -> dict[str, Split]:
    """Load FER2013 from a Kaggle zip, a Kaggle folder, fer2013.csv or a training pack
    (.npz, see training.fer2013); return the splits."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"FER2013 data not found: {path} does not exist")
    if path.is_dir():
        csv_file = path / "fer2013.csv"
        if csv_file.is_file() and not (path / "train").is_dir():
            return load_csv(csv_file)
        return _from_entries(_folder_entries(path), source=str(path))
    if path.suffix.lower() == ".csv":
        return load_csv(path)
    if path.suffix.lower() == ".npz":
        return load_pack(path)
    if zipfile.is_zipfile(path):
        return _from_entries(_zip_entries(path), source=str(path))
    raise DatasetError(f"{path} is neither a folder, a .zip, a training pack (.npz) nor a "
                       "fer2013.csv file")


def _zip_entries(path: Path):
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if not name.endswith("/"):
                yield name, archive.read(name)


def _folder_entries(root: Path):
    if not (root / "train").is_dir() and not (root / "test").is_dir():
        raise DatasetError(f"{root} has no train/ or test/ folder (Kaggle FER2013 layout expected)")
    for file in sorted(root.rglob("*")):
        if file.is_file():
            yield file.relative_to(root).as_posix(), file.read_bytes()


def _from_entries(entries, source: str) -> dict[str, Split]:
    collected: dict[str, tuple[list, list, list]] = {s: ([], [], []) for s in SPLITS}
    for name, data in entries:
        parsed = parse_entry_name(name)
        if parsed is None:
            continue
        split, label = parsed
        images, labels, keys = collected[split]
        images.append(decode_grey_face(data, name))
        labels.append(label)
        keys.append(name)
    if not any(collected[s][0] for s in SPLITS):
        raise DatasetError(f"no FER2013 images found in {source} "
                           "(expected train/<emotion>/*.jpg and test/<emotion>/*.jpg)")
    return {s: make_split(*collected[s]) for s in SPLITS}


def load_csv(path: str | Path) -> dict[str, Split]:
    """Load the original fer2013.csv (emotion, pixels, Usage); keys are ``csv:<row>``."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"FER2013 CSV not found: {path}")
    collected: dict[str, tuple[list, list, list]] = {s: ([], [], []) for s in SPLITS}
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"emotion", "pixels", "Usage"} - set(reader.fieldnames or ())
        if missing:
            raise DatasetError(f"{path} lacks the column(s) {', '.join(sorted(missing))}")
        for row_number, row in enumerate(reader):
            key = f"{path.name}:row {row_number}"
            split = row["Usage"].strip()
            if split not in collected:
                raise DatasetError(f"{key}: unknown Usage '{split}'")
            images, labels, keys = collected[split]
            images.append(_pixels_to_face(row["pixels"], key))
            labels.append(_csv_label(row["emotion"], key))
            keys.append(key)
    return {s: make_split(*collected[s]) for s in SPLITS}


def _csv_label(text: str, key: str) -> int:
    try:
        label = int(text)
    except ValueError:
        raise DatasetError(f"{key}: emotion '{text}' is not an integer 0-6") from None
    if not 0 <= label < len(EMOTIONS7):
        raise DatasetError(f"{key}: emotion {label} is outside 0-6")
    return label


def _pixels_to_face(text: str, key: str) -> np.ndarray:
    try:
        values = np.array(text.split(), dtype=np.int64)
    except ValueError:
        raise DatasetError(f"{key}: pixels are not whitespace-separated integers") from None
    if values.size != FACE_SIZE * FACE_SIZE or values.min() < 0 or values.max() > 255:
        raise DatasetError(f"{key}: expected {FACE_SIZE * FACE_SIZE} pixel values in 0-255, "
                           f"got {values.size}")
    return values.astype(np.uint8).reshape(FACE_SIZE, FACE_SIZE)


FERPLUS_COLUMNS = {"anger": "angry", "disgust": "disgust", "fear": "fear",
                   "happiness": "happy", "sadness": "sad", "surprise": "surprise",
                   "neutral": "neutral"}
FERPLUS_OTHER_COLUMNS = ("contempt", "unknown", "NF")  # not FER2013 classes


def load_ferplus_counts(votes_csv: str | Path, row_map_csv: str | Path,
                        keys: tuple[str, ...]) -> np.ndarray:
    """FER+ vote counts of ten annotators for Kaggle keys: (N, 10), the 7 FER2013 classes in
    EMOTIONS7 order, then contempt, unknown and not-a-face; rows of NaN where unknown."""
    with open(votes_csv, newline="") as handle:
        rows = list(csv.DictReader(handle))
    with open(row_map_csv, newline="") as handle:
        row_of = {r["path"]: r["fer2013_row"] for r in csv.DictReader(handle)}
    counts = np.full((len(keys), len(EMOTIONS7) + len(FERPLUS_OTHER_COLUMNS)), np.nan,
                     dtype=np.float32)
    for i, key in enumerate(keys):
        row = row_of.get(key, "")
        if not row:
            continue
        record = rows[int(row)]
        counts[i] = 0
        for column, emotion in FERPLUS_COLUMNS.items():
            counts[i, INDEX_OF[emotion]] = float(record[column])
        for offset, column in enumerate(FERPLUS_OTHER_COLUMNS):
            counts[i, len(EMOTIONS7) + offset] = float(record[column])
    return counts


def load_ferplus_votes(votes_csv: str | Path, row_map_csv: str | Path,
                       keys: tuple[str, ...]) -> np.ndarray:
    """FER+ vote distributions over EMOTIONS7 for Kaggle keys; rows of NaN where unknown.

    FER+ has 10 annotators per image; contempt, unknown and not-a-face votes are dropped.
    """
    counts = load_ferplus_counts(votes_csv, row_map_csv, keys)[:, :len(EMOTIONS7)]
    totals = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, counts / totals, np.nan).astype(np.float32)
