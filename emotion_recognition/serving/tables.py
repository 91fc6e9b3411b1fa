"""Tables for people (pandas, no Gradio): one row per face, probabilities in percent with
one decimal each, the winning emotion highlighted in its colour; boxes in a table of their
own; shares of time; a timeline's rows; a journal's entries. Faces are numbered from 1.

Column widths are given in percent so that a phone shows every column without scrolling.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from emotion_recognition.core.annotate import colour_hex, label_text
from emotion_recognition.core.labels import EMOTIONS7
from emotion_recognition.journal.entries import Entry
from emotion_recognition.video.timeline import Timeline


def face_name(face: dict) -> str:
    """How the UI names a face (a face dict, ``Face.to_dict``): 'Face 2: happy 93%'."""
    return f"Face {face['face']}: {label_text(face['label'], face['confidence'])}"


def faces_table(faces: list[dict]) -> pd.DataFrame:
    """Face dicts -> face number, emotion, then every probability in percent (numbers;
    shown with one decimal by styled_faces_table)."""
    rows = [{"face": face["face"], "emotion": face["label"],
             **{name: round(100 * p, 1) for name, p in face["probabilities"].items()}}
            for face in faces]
    return pd.DataFrame(rows)


def styled_faces_table(faces: list[dict]):
    """faces_table with one decimal everywhere and each face's winning probability in
    bold on its emotion's colour (a pandas Styler; Gradio shows it as styled)."""
    table = faces_table(faces)
    labels = [c for c in table.columns if c not in ("face", "emotion")]

    def highlight(row: pd.Series) -> list[str]:
        return [f"background-color: {colour_hex(row['emotion'])}; font-weight: bold"
                if column == row["emotion"] else "" for column in row.index]

    return table.style.format("{:.1f}", subset=labels).apply(highlight, axis=1).hide(axis="index")


def faces_table_widths(emotions: int) -> list[str]:
    """Columns that share the table's width (face, emotion, then one per emotion)."""
    each = (100 - 6 - 13) / emotions
    return ["6%", "13%", *[f"{each:.2f}%"] * emotions]


def boxes_table(faces: list[dict]) -> pd.DataFrame:
    """Where each face is, in the image's pixels: face, x, y, width, height."""
    return pd.DataFrame([{"face": f["face"], "x": f["box"][0], "y": f["box"][1],
                          "width": f["box"][2], "height": f["box"][3]} for f in faces],
                        columns=["face", "x", "y", "width", "height"])


def shares_table(shares: dict) -> pd.DataFrame:
    """{face number: {emotion: share}} -> one row per face, emotions in percent of its time."""
    if not shares:
        return pd.DataFrame(columns=["face"])
    rows = [{"face": f"face {number}", **{name: round(100 * v, 1) for name, v in row.items()}}
            for number, row in shares.items()]
    return pd.DataFrame(rows)


def shares_table_widths(table: pd.DataFrame) -> list[str]:
    """The face column, then the emotions sharing the rest of the width."""
    each = (100 - 16) / max(1, len(table.columns) - 1)
    return ["16%", *[f"{each:.2f}%"] * (len(table.columns) - 1)]


def winners_table(timeline: Timeline) -> pd.DataFrame:
    """Every face's winning emotion over time, one row of dots per face ("face 1")."""
    rows = pd.DataFrame(timeline.winners())
    rows["face"] = "face " + rows["face"].astype(str)
    return rows


def one_face_table(timeline: Timeline, face: int) -> pd.DataFrame:
    """One face's probabilities over time (time_s, emotion, probability)."""
    return pd.DataFrame(timeline.probabilities(face))


def journal_table(entries: list[Entry]) -> pd.DataFrame:
    """A journal's entries, newest first: time, source, emotion ("happy 96%", as the boxes
    say), note; four short columns that fit a phone."""
    return pd.DataFrame(
        [{"time": f"{e.local_time:%Y-%m-%d %H:%M}", "source": e.source,
          "emotion": label_text(e.emotion, e.probabilities[e.emotion]), "note": e.note}
         for e in reversed(entries)],
        columns=["time", "source", "emotion", "note"])


def with_every_emotion(table: pd.DataFrame) -> pd.DataFrame:
    """A timeline plot's rows and, for each emotion they lack, a row without a time (never
    drawn). A Gradio plot (6.31) fixes its colours to the emotions of the first value it
    draws and keeps them when its value changes: an emotion that came later was not drawn."""
    missing = [name for name in EMOTIONS7 if name not in set(table["emotion"])]
    if table.empty or not missing:
        return table
    first = table.iloc[0].to_dict()
    padding = pd.DataFrame([{**first, "time_s": np.nan, "emotion": name} for name in missing])
    return pd.concat([table, padding], ignore_index=True)
