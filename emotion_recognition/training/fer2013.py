"""FER2013 itself: its splits, the names of its images in the Kaggle layout, its 48x48 grey
images decoded, and the training pack (Training + PublicTest in one file that travels to a
GPU machine).

The Kaggle layout names each image ``train/<emotion>/Training_*.jpg`` or
``test/<emotion>/{PublicTest,PrivateTest}_*.jpg``; keys are these paths (two file names occur
in two class folders). The pack is small enough to upload to a GPU machine beside the
project; decoded uint8 faces compress badly (68 MB with zlib), so the pack keeps each
image's original JPEG bytes (48.5 MB for the two splits): it decodes to exactly the images
the zip gives. PrivateTest is left out on purpose: it stays on the machine that evaluates.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from emotion_recognition.core.crops import FACE_SIZE
from emotion_recognition.core.errors import DatasetError
from emotion_recognition.core.labels import EMOTIONS7, INDEX_OF

SPLITS = ("Training", "PublicTest", "PrivateTest")
PACKED_SPLITS = ("Training", "PublicTest")
PACK_FORMAT = 1


@dataclass(frozen=True)
class Split:
    """One split of FER2013: images (N, 48, 48) uint8, labels (N,) int64, keys (N,)."""

    images: np.ndarray
    labels: np.ndarray
    keys: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)

    def class_counts(self) -> np.ndarray:
        return np.bincount(self.labels, minlength=len(EMOTIONS7))


def make_split(images: list, labels: list, keys: list) -> Split:
    """A Split from lists of (48, 48) images, integer labels and keys (empty lists: empty)."""
    stacked = np.stack(images) if images else np.zeros((0, FACE_SIZE, FACE_SIZE), np.uint8)
    return Split(stacked, np.asarray(labels, dtype=np.int64), tuple(keys))


def parse_entry_name(name: str) -> tuple[str, int] | None:
    """(split, label) of an archive path like ``test/happy/PublicTest_1.jpg``; None for a
    path that is not one of FER2013's images."""
    parts = name.split("/")
    # tolerate a single wrapping folder, e.g. ``fer2013/train/...``
    if len(parts) == 4 and parts[1] in ("train", "test"):
        parts = parts[1:]
    if len(parts) != 3 or parts[0] not in ("train", "test"):
        return None
    top, emotion, filename = parts
    if not filename.lower().endswith((".jpg", ".jpeg", ".png")):
        return None
    if emotion not in INDEX_OF:
        raise DatasetError(
            f"unknown class folder '{emotion}' in {name}: expected one of {', '.join(EMOTIONS7)}")
    prefix = filename.split("_", 1)[0]
    split = prefix if prefix in SPLITS else ("Training" if top == "train" else None)
    if split is None:
        raise DatasetError(f"cannot tell the split of {name}: test files must start with "
                           "PublicTest_ or PrivateTest_")
    return split, INDEX_OF[emotion]


def decode_grey_face(data: bytes, name: str) -> np.ndarray:
    """Decode one FER2013 image file to (48, 48) uint8; a broken file names itself."""
    array = np.frombuffer(data, np.uint8)
    image = cv2.imdecode(array, cv2.IMREAD_GRAYSCALE) if array.size else None
    if image is None:
        raise DatasetError(f"corrupt or unreadable image: {name}")
    if image.shape != (FACE_SIZE, FACE_SIZE):
        image = cv2.resize(image, (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA)
    return image


def _zip_images(zip_path: Path, splits: tuple[str, ...]):
    """(key, split, label, jpeg bytes) of the zip's images in the chosen splits."""
    with zipfile.ZipFile(zip_path) as archive:
        for name in archive.namelist():
            parsed = None if name.endswith("/") else parse_entry_name(name)
            if parsed is not None and parsed[0] in splits:
                yield name, parsed[0], parsed[1], archive.read(name)


def write_pack(zip_path: str | Path, out: str | Path,
               splits: tuple[str, ...] = PACKED_SPLITS) -> Path:
    """Write the chosen splits of a Kaggle-layout FER2013 zip as one .npz pack."""
    keys, split_names, labels, blobs = [], [], [], []
    for key, split, label, data in _zip_images(Path(zip_path), splits):
        keys.append(key)
        split_names.append(split)
        labels.append(label)
        blobs.append(np.frombuffer(data, np.uint8))
    if not keys:
        raise DatasetError(f"no images of {', '.join(splits)} in {zip_path}")
    offsets = np.cumsum([0] + [len(blob) for blob in blobs]).astype(np.int64)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # keys as one UTF-8 text (a fixed-width unicode array would take 4 bytes per character)
    np.savez(out, format=np.array(PACK_FORMAT),
             keys=np.frombuffer("\n".join(keys).encode(), np.uint8),
             splits=np.array([PACKED_SPLITS.index(s) for s in split_names], np.uint8),
             labels=np.array(labels, np.uint8), offsets=offsets, jpeg=np.concatenate(blobs))
    return out


def load_pack(path: str | Path) -> dict[str, Split]:
    """{split: Split} from a pack; splits it does not hold (PrivateTest) are empty."""
    try:
        stored = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DatasetError(f"{path} is not a readable training pack: {error}") from None
    with stored:
        if "format" not in stored.files or int(stored["format"]) != PACK_FORMAT:
            raise DatasetError(f"{path} is not a training pack written by "
                               "emotion_recognition.training.pack")
        keys = stored["keys"].tobytes().decode().split("\n")
        splits, labels = stored["splits"], stored["labels"]
        offsets, jpeg = stored["offsets"], stored["jpeg"]
        collected = {split: ([], [], []) for split in SPLITS}
        for i, key in enumerate(keys):
            images, split_labels, split_keys = collected[PACKED_SPLITS[splits[i]]]
            images.append(decode_grey_face(jpeg[offsets[i]:offsets[i + 1]].tobytes(), key))
            split_labels.append(int(labels[i]))
            split_keys.append(key)
    return {split: make_split(*collected[split]) for split in SPLITS}
