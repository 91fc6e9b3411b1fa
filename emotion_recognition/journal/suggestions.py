"""Light-hearted suggestions for an emotion: an activity, a kind of music, a place, a film.

The ideas live in suggestions.csv beside this module (columns emotion, kind, suggestion) so
that anyone can edit them without touching code. Just for fun, never advice:

>>> from emotion_recognition.journal.suggestions import suggest
>>> [(s.kind, s.text) for s in suggest("sad", seed=1)]
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from emotion_recognition.core.errors import EmotionAppError
from emotion_recognition.core.labels import EMOTIONS7

TABLE = Path(__file__).resolve().parent / "suggestions.csv"
KINDS = ("activity", "music", "place", "film")
KIND_TITLES = {"activity": "Something to do", "music": "Music", "place": "A place to go",
               "film": "A film"}
DISCLAIMER = ("Just for fun: light-hearted ideas picked from a small table, not medical or "
              "psychological advice. If you are struggling, talk to someone you trust or a "
              "health professional.")


@dataclass(frozen=True)
class Suggestion:
    kind: str
    text: str


@lru_cache(maxsize=4)
def load_table(path: Path = TABLE) -> dict[str, dict[str, tuple[str, ...]]]:
    """{emotion: {kind: ideas}}; a clear error if an emotion or kind has no idea at all."""
    table: dict[str, dict[str, list[str]]] = {e: {k: [] for k in KINDS} for e in EMOTIONS7}
    with open(path, newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            emotion, kind = row.get("emotion", "").strip(), row.get("kind", "").strip()
            text = (row.get("suggestion") or "").strip()
            if emotion not in table or kind not in KINDS or not text:
                raise ValueError(f"{path.name} line {line}: need an emotion of {EMOTIONS7}, "
                                 f"a kind of {KINDS} and a suggestion")
            table[emotion][kind].append(text)
    gaps = [f"{e}/{k}" for e, kinds in table.items() for k, ideas in kinds.items() if not ideas]
    if gaps:
        raise ValueError(f"{path.name} has no suggestion for {', '.join(gaps)}")
    return {e: {k: tuple(ideas) for k, ideas in kinds.items()} for e, kinds in table.items()}


def suggest(emotion: str, seed: int | None = None, kinds: tuple[str, ...] = KINDS,
            path: Path = TABLE) -> list[Suggestion]:
    """One idea of each kind for ``emotion``; ``seed`` makes the pick repeatable."""
    table = load_table(path)
    if emotion not in table:
        raise EmotionAppError(f"No suggestions for '{emotion}': choose one of "
                              f"{', '.join(EMOTIONS7)}.")
    pick = random.Random(seed)
    return [Suggestion(kind, pick.choice(table[emotion][kind])) for kind in kinds]


def as_markdown(emotion: str, suggestions: list[Suggestion]) -> str:
    """The suggestions as a short Markdown list, with the disclaimer."""
    lines = [f"**Ideas for when you feel {emotion}**", ""]
    lines += [f"- {KIND_TITLES.get(s.kind, s.kind)}: {s.text}" for s in suggestions]
    return "\n".join(lines + ["", f"*{DISCLAIMER}*"])
