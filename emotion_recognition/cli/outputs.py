"""Where the command lines write each input's files: the inputs' tree mirrored under the
output folder, so that a/x.jpg and b/x.jpg never overwrite each other's results.

Each input keeps its path below the folder that all the paths given share (a folder given:
that folder; files given: the folder they are in), without its extension; two inputs of one
folder with the same name but another extension (x.jpg, x.png) keep theirs in the name
(x_jpg, x_png).
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path


def output_stems(files: list[Path], given: list[str | Path] | None = None) -> dict[Path, Path]:
    """Each input file -> its relative output path without suffix (``a/x`` for
    ``photos/a/x.jpg`` when ``photos/`` was given); the caller adds ``_annotated.jpg`` and
    the like. ``given``: the paths given (folders and files; default ``files``)."""
    if not files:
        return {}
    folders = [path if path.is_dir() else path.parent
               for path in (Path(os.path.abspath(p)) for p in (given or files))]
    base = Path(os.path.commonpath([*folders, *(Path(os.path.abspath(f)).parent for f in files)]))
    relative = [Path(os.path.abspath(file)).relative_to(base) for file in files]
    shared = Counter(path.with_suffix("") for path in relative)
    return {file: (path.with_suffix("") if shared[path.with_suffix("")] == 1 else
                   path.with_name(f"{path.stem}_{path.suffix.lstrip('.').lower()}"))
            for file, path in zip(files, relative)}


def output_path(folder: Path, stem: Path, ending: str) -> Path:
    """``folder/stem + ending`` (e.g. ``out/a/x_annotated.jpg``), its folders made."""
    path = folder / stem.parent / f"{stem.name}{ending}"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
