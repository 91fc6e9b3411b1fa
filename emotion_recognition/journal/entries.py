"""A mood journal that belongs to the person: entries, and CSV out and back in.

Plain Python, no Gradio and no disk: the app keeps the entries in the person's browser
(as the dicts ``Entry.to_dict`` gives) and hands them to these functions in memory, so
the server never stores anything about anyone. Never an image: time, source, emotion set,
probabilities and an optional short note.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from emotion_recognition.core.errors import EmotionAppError
from emotion_recognition.core.labels import EMOTIONS7, EMOTION_SETS, emotion_set_of_labels
from emotion_recognition.core.limits import LIMITS
from emotion_recognition.core.spreadsheet import plain_text, read_cell, safe_cell

SOURCES = ("photo", "snapshot", "live")
CSV_COLUMNS = ("time", "source", "emotion_set", "emotion", "note", *EMOTIONS7)
REQUIRED_COLUMNS = ("time", "source", "emotion_set")
_ROW_ERRORS_SHOWN = 3


class JournalError(EmotionAppError):
    """A journal entry or file that cannot be used; the message says why, for the person."""


@dataclass(frozen=True)
class Entry:
    """One moment in the journal. ``time`` is the person's own clock (with its UTC offset
    when known), so "mornings" and "today" mean theirs wherever the server runs."""

    time: datetime
    source: str
    emotion_set: str
    probabilities: dict[str, float]
    note: str = ""

    @property
    def emotion(self) -> str:
        return max(self.probabilities, key=self.probabilities.get)

    @property
    def local_time(self) -> datetime:
        """The wall-clock time where it was recorded (what days and hours are counted in)."""
        return self.time.replace(tzinfo=None)

    def key(self) -> tuple:
        """Identity for de-duplication (an import of an export adds nothing twice)."""
        return (self.time.isoformat(), self.source, self.emotion_set, self.note,
                tuple(sorted(self.probabilities.items())))

    def to_dict(self) -> dict:
        """The JSON kept in the browser."""
        return {"time": self.time.isoformat(timespec="seconds"), "source": self.source,
                "emotion_set": self.emotion_set, "probabilities": dict(self.probabilities),
                "note": self.note}

    @classmethod
    def from_dict(cls, data: dict) -> "Entry":
        """Validate stored or imported values; JournalError says what is wrong."""
        if not isinstance(data, dict):
            raise JournalError("an entry must be a mapping")
        set_name = str(data.get("emotion_set", ""))
        if set_name not in EMOTION_SETS:
            raise JournalError(f"emotion set '{set_name}' is not {' or '.join(EMOTION_SETS)}")
        source = str(data.get("source", ""))
        if source not in SOURCES:
            raise JournalError(f"source '{source}' is not one of {', '.join(SOURCES)}")
        return cls(parse_time(data.get("time")), source, set_name,
                   _probabilities(data.get("probabilities"), EMOTION_SETS[set_name].labels),
                   clean_note(data.get("note")))


def parse_time(value) -> datetime:
    """An ISO 8601 date and time such as 2025-01-31T08:15:00+01:00 (offset optional)."""
    if isinstance(value, datetime):
        return value.replace(microsecond=0)
    try:
        moment = datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise JournalError(f"time '{str(value)[:40]}' is not a date and time like "
                           "2025-01-31T08:15:00") from None
    if not 2000 <= moment.year <= 2100:
        raise JournalError(f"time '{value}' is not a plausible date")
    return moment.replace(microsecond=0)


def clean_note(note) -> str:
    """One line of plain text: no control characters or bidirectional overrides, no stray
    whitespace."""
    note = " ".join(plain_text(str(note or "")).split())
    if len(note) > LIMITS.journal_note_chars:
        raise JournalError(f"the note is longer than {LIMITS.journal_note_chars} characters")
    return note


def _probabilities(values, labels: tuple[str, ...]) -> dict[str, float]:
    """Exactly the set's labels, each in [0, 1], summing to 1 (give or take rounding)."""
    if not isinstance(values, dict):
        raise JournalError("probabilities are missing")
    result = {}
    for label in labels:
        try:
            result[label] = round(float(values[label]), 4)
        except (KeyError, TypeError, ValueError):
            raise JournalError(f"probability of '{label}' is missing or not a number") from None
        if not 0 <= result[label] <= 1:
            raise JournalError(f"probability of '{label}' is {values[label]}, not between 0 and 1")
    if abs(sum(result.values()) - 1) > 0.02:
        raise JournalError(f"probabilities add up to {sum(result.values()):.3f}, not 1")
    return result


class PickAFace(JournalError):
    """Several faces were found: the person must say which one is theirs."""


def photo_probabilities(faces: list[dict] | None, index: int | None) -> list[dict[str, float]]:
    """The probabilities of the person's face among an analysis's faces (``Face.to_dict``);
    with several faces ``index`` (its place in the list, from 0) must say which. (The faces
    come back from the browser: anything else than an analysis's is refused with a message.)"""
    faces = faces if isinstance(faces, list) else []
    if not faces:
        raise JournalError("Analyse a photo with a face in it first.")
    if len(faces) > 1 and _index(index, len(faces)) is None:
        raise PickAFace("Several faces were found: pick which face is yours first.")
    face = faces[0 if len(faces) == 1 else _index(index, len(faces))]
    probabilities = face.get("probabilities") if isinstance(face, dict) else None
    if not isinstance(probabilities, dict) or not probabilities:
        raise JournalError("These results cannot be added: analyse the photo again.")
    return [probabilities]


def _index(value, count: int) -> int | None:
    try:
        index = int(value)
    except (TypeError, ValueError):
        return None
    return index if 0 <= index < count else None


def live_probabilities(records, face_id: int | None) -> list[dict[str, float]]:
    """A live session's probabilities, frame by frame, for the person's face (records as
    ``core.types.FaceRecord``); with several faces ``face_id`` must say which."""
    ids = sorted({r.face.face_id for r in records or []})
    if not ids:
        raise JournalError("Nothing recorded yet: start the webcam stream first.")
    if len(ids) > 1 and face_id not in ids:
        raise PickAFace("Several faces were followed: pick which is yours, then add.")
    face_id = ids[0] if len(ids) == 1 else face_id
    mine = [r.face.probabilities for r in records if r.face.face_id == face_id]
    return [p for p in mine if p.keys() == mine[-1].keys()]  # the session's latest emotion set


def new_entry(probabilities: list[dict[str, float]], source: str, note: str = "",
              time: datetime | str | None = None) -> Entry:
    """An entry from one face's probabilities, or the mean over a live session's frames
    (one {emotion: probability} per frame, as ``Face.to_dict()["probabilities"]``)."""
    if not probabilities:
        raise JournalError("There is nothing to add: no face was analysed.")
    if not all(isinstance(p, dict) and p.keys() == probabilities[0].keys()
               and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                       for v in p.values())
               for p in probabilities):
        raise JournalError("These results cannot be added: analyse the photo again.")
    labels = tuple(probabilities[0])
    mean = {label: sum(p[label] for p in probabilities) / len(probabilities) for label in labels}
    total = sum(mean.values()) or 1.0
    try:
        set_name = emotion_set_of_labels(labels).name
    except ValueError:
        raise JournalError(f"Unknown emotions {labels}.") from None
    return Entry.from_dict({"time": time or datetime.now().astimezone(), "source": source,
                            "emotion_set": set_name, "note": note,
                            "probabilities": {k: v / total for k, v in mean.items()}})


def load(stored) -> list[Entry]:
    """The browser's stored list -> entries, oldest first. Anything unreadable (an old
    format, a hand-edited store) is skipped here rather than breaking the page; add and
    merge keep it as it is."""
    return _read(stored[-LIMITS.journal_entries:] if isinstance(stored, list) else [])[0]


def _read(stored) -> tuple[list[Entry], list]:
    """(the readable entries in time order, the unreadable items as they are)."""
    entries, unreadable = [], []
    for item in stored if isinstance(stored, list) else []:
        try:
            entries.append(Entry.from_dict(item))
        except JournalError:
            unreadable.append(item)
    return sorted(entries, key=lambda e: e.local_time), unreadable


def _stored(entries: list[Entry], unreadable: list) -> list:
    """What goes back to the browser: every item it had (those this version cannot read
    first, unchanged: a stricter check must never delete a person's entries), then the
    entries in time order."""
    return [*unreadable, *[e.to_dict() for e in sorted(entries, key=lambda e: e.local_time)]]


def add(stored, entry: Entry) -> list:
    """The stored list with ``entry`` added (kept in time order); nothing of it dropped."""
    if isinstance(stored, list) and len(stored) >= LIMITS.journal_entries:
        raise JournalError(f"Your journal is full ({LIMITS.journal_entries} entries). Export "
                           "it, then delete everything to start a new one.")
    entries, unreadable = _read(stored)
    return _stored([*entries, entry], unreadable)


def merge(stored, imported: list[Entry]) -> tuple[list, int]:
    """Imported entries added to the stored ones, duplicates once -> (list, how many new);
    nothing stored is dropped."""
    if isinstance(stored, list) and len(stored) > LIMITS.journal_entries:
        raise JournalError(f"Your journal holds more than {LIMITS.journal_entries} entries, "
                           "the limit.")
    entries, unreadable = _read(stored)
    known = {e.key() for e in entries}
    new = []
    for entry in imported:
        if entry.key() not in known:
            known.add(entry.key())
            new.append(entry)
    total = len(entries) + len(unreadable) + len(new)
    if total > LIMITS.journal_entries:
        raise JournalError(f"Together with your journal that makes {total} entries; the limit "
                           f"is {LIMITS.journal_entries}.")
    return _stored([*entries, *new], unreadable), len(new)


def to_csv(stored) -> str:
    """The journal as CSV text: one row per entry, every emotion's probability (empty
    where the entry's emotion set does not have it); no cell a spreadsheet would run
    (core/spreadsheet.py)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for entry in load(stored):
        writer.writerow([safe_cell(cell) for cell in (
            entry.time.isoformat(timespec="seconds"), entry.source, entry.emotion_set,
            entry.emotion, entry.note, *[entry.probabilities.get(name, "") for name in EMOTIONS7])])
    return out.getvalue()


def from_csv(text: str | bytes) -> list[Entry]:
    """Entries from an exported CSV; JournalError with a clear message for a wrong file
    (too big, not a journal's columns, bad dates or numbers: rows are named)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if not isinstance(text, str):
        raise JournalError("That is not the text of a CSV file.")
    text = text.lstrip("\ufeff")
    if len(text.encode("utf-8")) > LIMITS.journal_import_bytes:
        raise JournalError(f"That file is over {LIMITS.journal_import_bytes // 1_000_000} MB; "
                           "a journal export is smaller. Is it the right file?")
    if not text.strip():
        raise JournalError("That file is empty.")
    reader = csv.DictReader(io.StringIO(text))
    _check_columns(reader.fieldnames or [])
    entries, errors = [], []
    for line, row in enumerate(reader, start=2):
        if len(entries) + len(errors) >= LIMITS.journal_entries:
            raise JournalError(f"That file holds more than {LIMITS.journal_entries} entries, "
                               "the limit.")
        try:
            entries.append(_entry_from_row(row))
        except JournalError as error:
            errors.append(f"line {line}: {error}")
    if errors:
        shown, hidden = "; ".join(errors[:_ROW_ERRORS_SHOWN]), len(errors) - _ROW_ERRORS_SHOWN
        more = f" (and {hidden} more)" if hidden > 0 else ""
        raise JournalError(f"Nothing was imported: {len(errors)} row(s) are not valid — "
                           f"{shown}{more}.")
    return entries


def _check_columns(columns: list[str]) -> None:
    columns = [c.strip() for c in columns]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    if missing or unknown:
        parts = ([f"missing columns: {', '.join(missing)}"] if missing else []) + (
            [f"unexpected columns: {', '.join(c[:30] for c in unknown[:5])}"] if unknown else [])
        problem = "; ".join(parts)
        raise JournalError(f"This is not a journal export ({problem}). A journal CSV has the "
                           f"columns {', '.join(CSV_COLUMNS)}.")


def _entry_from_row(row: dict) -> Entry:
    row = {(key or "").strip(): value.strip() if isinstance(value, str) else ""
           for key, value in row.items()}
    set_name = row.get("emotion_set", "")
    labels = EMOTION_SETS[set_name].labels if set_name in EMOTION_SETS else ()
    extra = [name for name in EMOTIONS7 if name not in labels and row.get(name)]
    if extra:
        raise JournalError(f"{', '.join(extra)} is not part of emotion set '{set_name}'")
    return Entry.from_dict({"time": row.get("time"), "source": row.get("source"),
                            "emotion_set": set_name, "note": read_cell(row.get("note", "")),
                            "probabilities": {name: row.get(name) for name in labels}})
