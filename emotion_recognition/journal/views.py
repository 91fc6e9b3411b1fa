"""What a journal says: today's emotions hour by hour, the share of each emotion per day,
a plain sentence ("mostly neutral this week, happier in the mornings").

Each entry counts once, spread over its probabilities, so a day's shares are the mean of
its entries' probabilities (an emotion outside an entry's emotion set counts 0).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd

from emotion_recognition.core.labels import EMOTIONS7
from emotion_recognition.journal.entries import Entry

# Parts of the day by the person's own clock: (name, first hour, hour after the last).
PARTS_OF_DAY = (("morning", 5, 12), ("afternoon", 12, 17), ("evening", 17, 22))
NIGHT = "night"
NOTABLE_DIFFERENCE = 0.10  # happiness must differ this much between parts of the day to mention


def part_of_day(moment: datetime) -> str:
    for name, first, end in PARTS_OF_DAY:
        if first <= moment.hour < end:
            return name
    return NIGHT


def mean_shares(entries: list[Entry]) -> dict[str, float]:
    """{emotion: mean probability} over the entries, for all 7 emotions."""
    if not entries:
        return {name: 0.0 for name in EMOTIONS7}
    return {name: sum(e.probabilities.get(name, 0.0) for e in entries) / len(entries)
            for name in EMOTIONS7}


def within_days(entries: list[Entry], today: date, days: int) -> list[Entry]:
    """The entries of ``today`` and the ``days - 1`` days before it (by their own clock)."""
    first = today - timedelta(days=days - 1)
    return [e for e in entries if first <= e.local_time.date() <= today]


def _long_rows(groups: dict[str, list[Entry]], x: str) -> pd.DataFrame | None:
    rows = [{x: key, "emotion": name, "share %": round(100 * share, 1), "entries": len(group)}
            for key, group in groups.items() for name, share in mean_shares(group).items()
            if group]
    return pd.DataFrame(rows) if rows else None


def hourly(entries: list[Entry], today: date) -> pd.DataFrame | None:
    """Today's entries by hour: columns hour ("08:00"), emotion, share %, entries.
    None when there is nothing today (an empty frame would fix a plot's schema)."""
    groups: dict[str, list[Entry]] = {}
    for entry in sorted(within_days(entries, today, 1), key=lambda e: e.local_time):
        groups.setdefault(f"{entry.local_time.hour:02d}:00", []).append(entry)
    return _long_rows(groups, "hour")


def daily(entries: list[Entry], today: date, days: int) -> pd.DataFrame | None:
    """Share of each emotion per day over the last ``days`` days: columns day
    ("2025-01-31"), emotion, share %, entries. Days without entries have no rows."""
    groups: dict[str, list[Entry]] = {}
    for entry in sorted(within_days(entries, today, days), key=lambda e: e.local_time):
        groups.setdefault(entry.local_time.date().isoformat(), []).append(entry)
    return _long_rows(groups, "day")


def dominant(entries: list[Entry]) -> str | None:
    """The emotion with the largest mean share, or None without entries."""
    if not entries:
        return None
    shares = mean_shares(entries)
    return max(shares, key=shares.get)


def happiest_part_of_day(entries: list[Entry]) -> str | None:
    """The part of the day clearly happier than the others (None if none stands out)."""
    parts: dict[str, list[Entry]] = {}
    for entry in entries:
        parts.setdefault(part_of_day(entry.local_time), []).append(entry)
    if len(parts) < 2:
        return None
    happy = {part: mean_shares(group)["happy"] for part, group in parts.items()}
    best = max(happy, key=happy.get)
    runner_up = max(v for part, v in happy.items() if part != best)
    return best if happy[best] - runner_up >= NOTABLE_DIFFERENCE else None


def summary(entries: list[Entry], now: datetime) -> str:
    """A plain sentence or two about this week and today."""
    if not entries:
        return ("Your journal is empty. Analyse a photo or a webcam snapshot and press "
                "**Add to my journal**.")
    today = now.replace(tzinfo=None).date()
    week = within_days(entries, today, 7)
    if not week:
        latest = max(entries, key=lambda e: e.local_time)
        return (f"No entries in the last 7 days ({len(entries)} in all; the latest, "
                f"{latest.local_time:%Y-%m-%d}, was {latest.emotion}).")
    shares = sorted(mean_shares(week).items(), key=lambda item: -item[1])
    sentence = f"Mostly **{shares[0][0]}** this week ({shares[0][1]:.0%}"
    sentence += f", then {shares[1][0]} {shares[1][1]:.0%})" if shares[1][1] > 0 else ")"
    happiest = happiest_part_of_day(week)
    if happiest:
        sentence += f", happier in the {happiest}s" if happiest != NIGHT else ", happier at night"
    sentence += f" — {len(week)} entr{'y' if len(week) == 1 else 'ies'}."
    todays = within_days(week, today, 1)
    if todays:
        sentence += f" Today: {len(todays)}, mostly {dominant(todays)}."
    return sentence
