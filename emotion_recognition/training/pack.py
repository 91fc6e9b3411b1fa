"""A training pack: FER2013 Training + PublicTest in one compact file that travels to a GPU job.

    python -m emotion_recognition.training.pack --data fer2013.zip --out data/fer2013_pack.npz

A GPU job gets a copy of the project plus named files, 64 MiB in all. Decoded uint8 faces
compress badly (68 MB with zlib), so the pack keeps each image's original JPEG bytes
(48.5 MB for the two splits): it decodes to exactly the images the zip gives. PrivateTest
is left out on purpose: it stays on the machine that evaluates.

``load_fer2013`` reads a pack like the zip (same images, labels and keys).
"""

from __future__ import annotations

import argparse
import zipfile
from pathlib import Path

import numpy as np

from emotion_recognition.errors import DatasetError

PACKED_SPLITS = ("Training", "PublicTest")
PACK_FORMAT = 1


def _entries(zip_path: Path, splits: tuple[str, ...]):
    """(key, split, label, jpeg bytes) of the zip's images in the chosen splits."""
    from emotion_recognition.training.data import _parse_entry_name

    with zipfile.ZipFile(zip_path) as archive:
        for name in archive.namelist():
            parsed = None if name.endswith("/") else _parse_entry_name(name)
            if parsed is not None and parsed[0] in splits:
                yield name, parsed[0], parsed[1], archive.read(name)


def write_pack(zip_path: str | Path, out: str | Path,
               splits: tuple[str, ...] = PACKED_SPLITS) -> Path:
    """Write the chosen splits of a Kaggle-layout FER2013 zip as one .npz pack."""
    keys, split_names, labels, blobs = [], [], [], []
    for key, split, label, data in _entries(Path(zip_path), splits):
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


def load_pack(path: str | Path) -> dict:
    """{split: Split} from a pack; splits it does not hold (PrivateTest) are empty."""
    from emotion_recognition.preprocessing import decode_grey_face
    from emotion_recognition.training.data import SPLITS, _make_split

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
    return {split: _make_split(*collected[split]) for split in SPLITS}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the Kaggle-layout fer2013.zip")
    parser.add_argument("--out", type=Path, required=True, help="the .npz pack to write")
    args = parser.parse_args(argv)
    path = write_pack(args.data, args.out)
    with np.load(path) as stored:
        counts = {s: int((stored["splits"] == i).sum()) for i, s in enumerate(PACKED_SPLITS)}
    print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB): {counts}")


if __name__ == "__main__":
    main()
