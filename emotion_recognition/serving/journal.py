"""The journal actions the UI calls, free of Gradio. The journal lives in the person's
browser: each action gets the stored entries it needs, in memory, and gives back what the
browser should store (None: leave it as it is) and a message; nothing is written here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from emotion_recognition.core.labels import EMOTIONS7
from emotion_recognition.journal import entries as journal, views
from emotion_recognition.journal.suggestions import as_markdown, suggest
from emotion_recognition.serving.live import nothing_recorded, session_records
from emotion_recognition.serving.tables import journal_table

if TYPE_CHECKING:
    from emotion_recognition.serving.server import Server

SUGGESTION_CHOICES = [("my latest entry", "latest"), ("my mood this week", "week"),
                      *[(name, name) for name in EMOTIONS7]]


@dataclass(frozen=True)
class Change:
    """An action's answer: the entries to store (None: unchanged), a message for the
    person, whether the note field is done with, and the faces to pick from (live)."""

    entries: list | None
    message: str
    note_done: bool = False
    pick_from: list[tuple[str, int]] | None = None  # (how the person knows it, face id)


def now_of(clock: str | None) -> datetime:
    """The browser's local time (what "today" and "mornings" mean), else the server's."""
    try:
        return journal.parse_time(clock)
    except journal.JournalError:
        return datetime.now().astimezone()


def as_text(message: str) -> str:
    """A message that quotes what a person sent (a file's cells), shown in a Markdown block
    as the text it is: no link, image, emphasis or HTML of the file's is rendered."""
    return re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", message)  # each ASCII punctuation mark


def entries_word(count: int, kind: str = "") -> str:
    return f"{count} {kind}entr{'y' if count == 1 else 'ies'}"


def add_face(faces, face_index, note, entries, clock, source: str = "photo") -> Change:
    """The face picked in a photo's results (the one the bars show) -> a new entry."""
    try:
        probabilities = journal.photo_probabilities(faces, face_index)
    except journal.PickAFace:
        return Change(None, "Several faces were found: pick yours first, under **Face** above "
                            "(or click it in the picture).")
    except journal.JournalError as error:
        return Change(None, str(error))
    return _added(probabilities, source, note, entries, clock)


def add_live(server: Server, session_id: str | None, face_id, note, entries, clock) -> Change:
    """A live session, averaged over the frames of the person's face."""
    records = session_records(server, session_id)
    if not records:  # why, truly: the camera never ran, or it saw no face
        return Change(None, nothing_recorded(server.live_sessions.get(session_id)))
    try:
        probabilities = journal.live_probabilities(records, face_id)
    except journal.PickAFace as error:
        return Change(None, str(error), pick_from=followed_faces(records))
    except journal.JournalError as error:
        return Change(None, str(error))
    return _added(probabilities, "live", note, entries, clock)


def followed_faces(records) -> list[tuple[str, int]]:
    """Each face a live session followed, named as a person can tell it from the others:
    "Face 2: mostly happy, 12 s in view"."""
    named = []
    for face_id in sorted({r.face.face_id for r in records}):
        mine = [r for r in records if r.face.face_id == face_id]
        labels = [r.face.label for r in mine]
        mostly = max(set(labels), key=labels.count)
        seconds = max(1, round(mine[-1].time - mine[0].time))
        named.append((f"Face {face_id}: mostly {mostly}, {seconds} s in view", face_id))
    return named


def _added(probabilities, source, note, entries, clock) -> Change:
    try:
        entry = journal.new_entry(probabilities, source, note, now_of(clock))
        updated = journal.add(entries, entry)
    except journal.JournalError as error:
        return Change(None, f"Not added: {as_text(str(error))}")
    return Change(updated, f"Added to your journal: **{entry.emotion}** at "
                           f"{entry.local_time:%H:%M} ({entries_word(len(updated))}, kept in "
                           "this browser only).", note_done=True)


def refresh(entries, suggestion_for: str, seed, clock) -> tuple:
    """The Journal tab: (summary, today by hour, last 7 days, last 30 days, the entries
    table, suggestions), each a value the UI shows as it is."""
    items, now = journal.load(entries), now_of(clock)
    today = now.replace(tzinfo=None).date()
    return (views.summary(items, now), views.hourly(items, today), views.daily(items, today, 7),
            views.daily(items, today, 30), journal_table(items),
            suggestions(items, suggestion_for, seed, today))


def suggestions(items: list, suggestion_for: str, seed, today: date) -> str:
    """Ideas for the latest entry's emotion, the week's main one or a chosen one; the same
    all day unless the person asks for other ideas (``seed``)."""
    if suggestion_for == "week":
        emotion = views.dominant(views.within_days(items, today, 7))
    elif suggestion_for in EMOTIONS7:
        emotion = suggestion_for
    else:
        emotion = items[-1].emotion if items else None
    if emotion is None:
        return "*No entries to go by yet: pick an emotion above, or add an entry first.*"
    return as_markdown(emotion, suggest(emotion, seed=int(seed or 0) + today.toordinal()))


def export(entries) -> tuple[str, str]:
    """The journal as CSV text, which the browser saves as a download (never a file here)."""
    if not journal.load(entries):
        return "", "Your journal is empty: there is nothing to export."
    return journal.to_csv(entries), "Exported: your browser saved the CSV as a download."


def import_csv(text, entries) -> Change:
    """CSV text read by the browser -> entries merged into the journal (or a clear message)."""
    try:
        merged, added = journal.merge(entries, journal.from_csv(text or ""))
    except journal.JournalError as error:
        return Change(None, f"**Import failed.** {as_text(str(error))}")
    return Change(merged, f"Imported {entries_word(added, 'new ')} ({len(merged)} in all).")
