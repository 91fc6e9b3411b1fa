"""Tables for people: one row per face, probabilities in percent with one decimal each,
the winning emotion highlighted in its colour; boxes in a table of their own (details)."""

from __future__ import annotations

import pandas as pd

from emotion_recognition.annotate import colour_hex, label_text


def face_name(index: int, face: dict) -> str:
    """How the UI names a face: 'Face 2: happy 93%'."""
    return f"Face {index + 1}: {label_text(face['label'], face['confidence'])}"


def faces_table(faces: list[dict]) -> pd.DataFrame:
    """Face dicts (as ``Face.to_dict`` gives them) -> face number, emotion, then every
    class probability in percent (numbers; shown with one decimal by styled_faces_table)."""
    rows = [{"face": index, "emotion": face["label"],
             **{name: round(100 * p, 1) for name, p in face["scores"].items()}}
            for index, face in enumerate(faces, start=1)]
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


def boxes_table(faces: list[dict]) -> pd.DataFrame:
    """Where each face is, in the image's pixels: face, x, y, width, height."""
    return pd.DataFrame([{"face": i, "x": f["box"][0], "y": f["box"][1], "width": f["box"][2],
                          "height": f["box"][3]} for i, f in enumerate(faces, start=1)],
                        columns=["face", "x", "y", "width", "height"])


def shares_table(shares: dict) -> pd.DataFrame:
    """{face id: {emotion: share}} -> one row per face, emotions in percent of its time."""
    if not shares:
        return pd.DataFrame(columns=["face"])
    rows = [{"face": f"face {face_id}", **{name: round(100 * v, 1) for name, v in row.items()}}
            for face_id, row in shares.items()]
    return pd.DataFrame(rows)
