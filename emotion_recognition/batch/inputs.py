"""Batch inputs: folders, globs, list files, paths and URIs -> the sources to analyse.

Every source is named by a string that stays the same from run to run (an absolute path
for local files, the URI as given otherwise), so a resumed run can tell which inputs are
done. Local paths and object-store URIs (s3://, gs://, ...) are listed and read through
the same pyarrow filesystems that Ray Data itself uses.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from emotion_recognition.core.decode import IMAGE_SUFFIXES
from emotion_recognition.core.errors import EmotionAppError
from emotion_recognition.core.limits import MB
from emotion_recognition.video.probe import VIDEO_SUFFIXES

LIST_SUFFIXES = {".txt", ".list", ".lst"}
GLOB_CHARS = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class Source:
    """One input: its stable name, whether it is a video, and an error found while listing."""

    name: str
    kind: str  # "image" or "video"
    error: str | None = None


@dataclass
class Inputs:
    """What the command line's INPUT arguments expanded to."""

    sources: list[Source] = field(default_factory=list)
    ignored: int = 0  # files in folders that are neither images nor videos
    warnings: list[str] = field(default_factory=list)

    @property
    def images(self) -> list[Source]:
        return [s for s in self.sources if s.kind == "image"]

    @property
    def videos(self) -> list[Source]:
        return [s for s in self.sources if s.kind == "video"]


def is_uri(name: str) -> bool:
    return "://" in name


def kind_of(name: str) -> str:
    return "video" if Path(name.split("?")[0]).suffix.lower() in VIDEO_SUFFIXES else "image"


def is_media(name: str) -> bool:
    return Path(name).suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES


def filesystem(name: str):
    """(pyarrow filesystem, path inside it) for a local path or a URI."""
    from pyarrow import fs

    if is_uri(name):
        return fs.FileSystem.from_uri(name)
    return fs.LocalFileSystem(), os.path.abspath(name)


def _uri_of(name: str, path: str) -> str:
    """The URI of a path listed inside ``name``'s filesystem (local paths stay paths)."""
    return f"{name.split('://', 1)[0]}://{path}" if is_uri(name) else path


def glob_regex(pattern: str) -> re.Pattern:
    """A shell glob as a regex: * and ? stay inside one folder, ** crosses folders."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 1:]:
            end = pattern.index("]", i + 1)
            out.append("[" + pattern[i + 1:end].replace("!", "^", 1) + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def _list_files(name: str, path: str, fs) -> list[str]:
    from pyarrow import fs as pafs

    infos = fs.get_file_info(pafs.FileSelector(path, recursive=True, allow_not_found=True))
    return sorted(_uri_of(name, info.path) for info in infos if info.type == pafs.FileType.File)


def _expand_glob(name: str, inputs: Inputs) -> list[str]:
    fs, path = filesystem(name)
    base = path[:GLOB_CHARS.search(path).start()].rsplit("/", 1)[0] or "/"
    pattern = glob_regex(path)
    found = [f for f in _list_files(name, base, fs) if pattern.match(filesystem(f)[1])]
    media = [f for f in found if is_media(f)]
    if not media:
        inputs.warnings.append(f"{name} matched no image or video")
    return media


def _read_list_file(path: str) -> list[str]:
    """One path or URI per line (# comments, blank lines skipped); relative to the list."""
    folder = os.path.dirname(os.path.abspath(path))
    lines = Path(path).read_text().splitlines()
    entries = [line.strip() for line in lines
               if line.strip() and not line.lstrip().startswith("#")]
    return [e if is_uri(e) or os.path.isabs(e) else os.path.join(folder, e) for e in entries]


def _expand_one(name: str, inputs: Inputs, allow_lists: bool) -> list[Source]:
    if GLOB_CHARS.search(name):
        return [Source(f, kind_of(f)) for f in _expand_glob(name, inputs)]
    fs, path = filesystem(name)
    from pyarrow import fs as pafs

    info = fs.get_file_info(path)
    if info.type == pafs.FileType.Directory:
        files = _list_files(name, path, fs)
        media = [f for f in files if is_media(f)]
        inputs.ignored += len(files) - len(media)
        return [Source(f, kind_of(f)) for f in media]
    stable = _uri_of(name, path) if is_uri(name) else path
    if info.type == pafs.FileType.NotFound:
        return [Source(stable, kind_of(stable), f"No such file or folder: {name}")]
    if allow_lists and not is_uri(name) and Path(name).suffix.lower() in LIST_SUFFIXES:
        return [s for entry in _read_list_file(name) for s in _expand_one(entry, inputs, False)]
    return [Source(stable, kind_of(stable))]


def expand_inputs(names: list[str]) -> Inputs:
    """Expand INPUT arguments (folders, globs, list files, files, URIs) into sources.

    A listed path that does not exist becomes a source with an error (it shows up in the
    results as an error row); duplicates are dropped, the first occurrence kept.
    """
    inputs, seen = Inputs(), set()
    for name in names:
        try:
            expanded = _expand_one(str(name), inputs, allow_lists=True)
        except (OSError, ValueError) as error:  # unreadable list file, unknown URI scheme
            raise EmotionAppError(f"cannot read the input {name}: {error}") from error
        for source in expanded:
            if source.name not in seen:
                seen.add(source.name)
                inputs.sources.append(source)
    return inputs


def _check_size(fs, path: str, max_bytes: int) -> None:
    size = fs.get_file_info(path).size
    if size is not None and size > max_bytes:
        raise EmotionAppError(f"The file is larger than {max_bytes // MB} MB.")


def read_bytes(name: str, max_bytes: int) -> bytes:
    """The bytes of a local file or URI; refuses files over ``max_bytes`` before reading."""
    fs, path = filesystem(name)
    _check_size(fs, path, max_bytes)
    with fs.open_input_stream(path) as stream:
        return stream.read()


class LocalCopy:
    """A local path for a source: the file itself, or a temporary download of a URI."""

    def __init__(self, name: str, max_bytes: int):
        self.name, self.max_bytes, self._folder = name, max_bytes, None

    def __enter__(self) -> Path:
        if not is_uri(self.name):
            return Path(self.name)
        fs, path = filesystem(self.name)
        _check_size(fs, path, self.max_bytes)
        self._folder = tempfile.mkdtemp(prefix="emotion-batch-")
        local = Path(self._folder) / Path(path).name
        with fs.open_input_stream(path) as stream, open(local, "wb") as out:
            shutil.copyfileobj(stream, out, 2**20)
        return local

    def __exit__(self, *exc):
        if self._folder:
            shutil.rmtree(self._folder, ignore_errors=True)


def report_inputs(inputs: Inputs, stream=sys.stderr) -> None:
    for warning in inputs.warnings:
        print(f"warning: {warning}", file=stream)
    if inputs.ignored:
        print(f"ignored {inputs.ignored} file(s) in the given folders that are neither images "
              "nor videos", file=stream)
