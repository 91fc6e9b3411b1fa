"""Tables for people: one row per face with its probabilities in percent."""

from __future__ import annotations

import pandas as pd


def faces_table(faces: list[dict]) -> pd.DataFrame:
    """Face dicts (as ``Face.to_dict`` gives them) -> a table: face, emotion, box, then
    every class probability in percent, rounded to one decimal."""
    if not faces:
        return pd.DataFrame(columns=["face", "emotion", "confidence %", "box [x, y, w, h]"])
    rows = []
    for index, face in enumerate(faces, start=1):
        row = {"face": index, "emotion": face["label"],
               "confidence %": round(100 * face["confidence"], 1),
               "box [x, y, w, h]": str(face["box"])}
        row.update({name: round(100 * p, 1) for name, p in face["scores"].items()})
        rows.append(row)
    return pd.DataFrame(rows)


def shares_table(shares: dict) -> pd.DataFrame:
    """{face id: {emotion: share}} -> one row per face, emotions in percent of its time."""
    if not shares:
        return pd.DataFrame(columns=["face"])
    rows = [{"face": f"face {face_id}", **{name: round(100 * v, 1) for name, v in row.items()}}
            for face_id, row in shares.items()]
    return pd.DataFrame(rows)
