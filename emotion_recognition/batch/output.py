"""Batch outputs: a Parquet folder and/or a CSV file, what a resumed run skips, the summary.

Results arrive block by block, and a block always holds every row of its images and
videos. A Parquet part file is written under a temporary name and renamed once whole, and
CSV rows are appended a block at a time, so a stopped run leaves only complete inputs
behind and ``--resume`` can skip exactly those.
"""

from __future__ import annotations

import io
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from emotion_recognition.batch.inputs import filesystem, is_uri
from emotion_recognition.core.errors import EmotionAppError
from emotion_recognition.core.spreadsheet import read_cell, safe_cell

PART_PREFIX = "part-"


class ParquetFolder:
    """Results as Parquet part files in a folder (a local path or an object-store URI)."""

    def __init__(self, folder: str, rows_per_file: int = 50_000, seconds_per_file: float = 60):
        self.folder = str(folder)
        self.rows_per_file, self.seconds_per_file = rows_per_file, seconds_per_file
        self.fs, self.path = filesystem(self.folder)
        self.run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        self.pending: list[pa.Table] = []
        self.files_written, self.last_commit = 0, time.monotonic()

    def part_files(self) -> list[str]:
        from pyarrow import fs as pafs

        infos = self.fs.get_file_info(pafs.FileSelector(self.path, allow_not_found=True))
        return sorted(i.path for i in infos if i.type == pafs.FileType.File
                      and i.base_name.startswith(PART_PREFIX) and i.base_name.endswith(".parquet"))

    def exists(self) -> bool:
        from pyarrow import fs as pafs

        info = self.fs.get_file_info(self.path)
        if info.type == pafs.FileType.File:
            raise EmotionAppError(f"{self.folder} is a file; --out names a folder of Parquet files")
        return bool(self.part_files())

    def clear(self) -> None:
        for path in self.part_files():
            self.fs.delete_file(path)

    def done_sources(self) -> set[str]:
        import pyarrow.parquet as pq

        done = set()
        for path in self.part_files():
            done.update(pq.read_table(path, columns=["source"], filesystem=self.fs)
                        ["source"].to_pylist())
        return done

    def write(self, table: pa.Table) -> None:
        self.pending.append(table)
        rows = sum(t.num_rows for t in self.pending)
        waited = time.monotonic() - self.last_commit
        if rows >= self.rows_per_file or waited > self.seconds_per_file:
            self.commit()

    def commit(self) -> None:
        """Write the pending blocks as one part file: temporary name first, then renamed."""
        import pyarrow.parquet as pq

        if not self.pending:
            return
        self.fs.create_dir(self.path, recursive=True)
        name = f"{PART_PREFIX}{self.run_id}-{self.files_written:05d}.parquet"
        temporary, final = f"{self.path}/_writing-{name}", f"{self.path}/{name}"
        with self.fs.open_output_stream(temporary) as stream:
            pq.write_table(pa.concat_tables(self.pending), stream)
        self.fs.move(temporary, final)
        self.pending, self.files_written = [], self.files_written + 1
        self.last_commit = time.monotonic()


class CsvFile:
    """Results as one local CSV file, appended a block at a time."""

    def __init__(self, path: str | Path):
        if is_uri(str(path)):
            raise EmotionAppError("--csv writes a local file; use --out for an object store")
        self.path = Path(path)
        self.header_written = False

    def exists(self) -> bool:
        return self.path.is_file() and self.path.stat().st_size > 0

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)

    def done_sources(self) -> set[str]:
        """Sources already in the file; a half-written last line (a killed run) is cut off."""
        import pyarrow.csv as pacsv

        data = self.path.read_bytes()
        if not data.endswith(b"\n"):
            data = data[:data.rfind(b"\n") + 1]
            self.path.write_bytes(data)
        self.header_written = bool(data)
        if data.count(b"\n") < 2:
            return set()
        table = pacsv.read_csv(io.BytesIO(data), convert_options=pacsv.ConvertOptions(
            include_columns=["source"], column_types={"source": pa.string()}))
        return {read_cell(source) for source in table["source"].to_pylist()}

    def write(self, table: pa.Table) -> None:
        import pyarrow.csv as pacsv

        buffer = io.BytesIO()
        table = spreadsheet_safe(table)
        pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=not self.header_written))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "ab") as handle:
            handle.write(buffer.getvalue())
        self.header_written = True

    def commit(self) -> None:
        pass


def spreadsheet_safe(table: pa.Table) -> pa.Table:
    """``table`` with every text cell as core.spreadsheet.safe_cell writes it: a file named
    "=HYPERLINK(...).jpg" (or an error quoting it) is not run as a formula by a spreadsheet.
    (Parquet keeps the names as they are: it is read by programs, not spreadsheets.)"""
    for index, column in enumerate(table.columns):
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            safe = pa.array([safe_cell(v) for v in column.to_pylist()], type=column.type)
            table = table.set_column(index, table.field(index), safe)
    return table


def open_outputs(out: str | None, csv: str | None) -> list:
    """The writers for --out and --csv (nothing is touched yet)."""
    writers = ([ParquetFolder(out)] if out else []) + ([CsvFile(csv)] if csv else [])
    if not writers:
        raise EmotionAppError("say where the results go: --out results.parquet and/or "
                              "--csv results.csv")
    return writers


def prepare_outputs(writers: list, resume: bool, overwrite: bool) -> None:
    """Refuse to mix a new run into an old output unless told to resume or overwrite it."""
    for writer in writers:
        if writer.exists() and overwrite:
            writer.clear()
        elif writer.exists() and not resume:
            name = getattr(writer, "folder", None) or writer.path
            raise EmotionAppError(f"{name} already holds results: add --resume to continue that "
                                  "run, or --overwrite to replace them")


def done_sources(writers: list) -> set[str]:
    """Inputs every output already holds (a resumed run skips them)."""
    sets = [w.done_sources() if w.exists() else set() for w in writers]
    return set.intersection(*sets) if sets else set()


@dataclass
class Summary:
    """What a run did; counts come from the result rows themselves."""

    images: int = 0
    faces: int = 0
    no_face: int = 0
    errors: int = 0
    videos: int = 0
    video_face_rows: int = 0
    skipped: int = 0
    seconds: float = 0.0
    error_examples: list[str] = field(default_factory=list)

    def add(self, table: pa.Table) -> None:
        columns = table.select(["source", "kind", "status", "error"]).to_pydict()
        seen = set()
        for source, kind, status, error in zip(*columns.values()):
            first = source not in seen
            seen.add(source)
            self.images += first and kind == "image"
            self.videos += first and kind == "video"
            self.faces += status == "face" and kind == "image"
            self.video_face_rows += status == "face" and kind == "video"
            self.no_face += status == "no_face" and kind == "image"
            self.errors += status == "error"
            if status == "error" and len(self.error_examples) < 5:
                self.error_examples.append(f"{source}: {error}")

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict:
        return {"images": self.images, "faces": self.faces, "no_face": self.no_face,
                "errors": self.errors, "videos": self.videos,
                "video_face_rows": self.video_face_rows, "skipped": self.skipped,
                "seconds": round(self.seconds, 3),
                "images_per_second": round(self.images_per_second, 2),
                "error_examples": self.error_examples}

    def line(self) -> str:
        text = (f"{self.images} image(s): {self.faces} face(s), {self.no_face} without a face, "
                f"{self.errors} error(s)")
        if self.videos:
            text += f"; {self.videos} video(s): {self.video_face_rows} face row(s)"
        if self.skipped:
            text += f"; {self.skipped} input(s) already done, skipped"
        return text + f"; {self.seconds:.1f} s, {self.images_per_second:.1f} images/s"


class Progress:
    """One line per ``every`` images on stderr (0: quiet)."""

    def __init__(self, total: int, every: int, stream=sys.stderr):
        self.total, self.every, self.stream, self.shown = total, every, stream, 0

    def update(self, summary: Summary) -> None:
        done = summary.images + summary.videos
        if self.every and done // self.every > self.shown // self.every:
            self.shown = done
            print(f"{done}/{self.total} inputs, {summary.faces} faces, {summary.errors} errors, "
                  f"{summary.images_per_second:.1f} images/s", file=self.stream, flush=True)
