"""What a journal says: today's emotions hour by hour, the share of each emotion per day,
a plain sentence ("mostly neutral this week, happier in the mornings").

Each entry counts once, spread over its probabilities, so a day's shares are the mean of
its entries' probabilities (an emotion outside an entry's emotion set counts 0). A chart
needs two hours or days to compare (one bar says no more than its entry), and the sentence
speaks of a week only from WEEK_ENTRIES entries on, counting each entry's own emotion (the
rest of a face's probabilities is the model's doubt, not a mood).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

import pandas as pd

from emotion_recognition.core.labels import EMOTIONS7
from emotion_recognition.journal.entries import Entry

# Parts of the day by the person's own clock: (name, first hour, hour after the last).
PARTS_OF_DAY = (("morning", 5, 12), ("afternoon", 12, 17), ("evening", 17, 22))
NIGHT = "night"
NOTABLE_DIFFERENCE = 0.10  # happiness must differ this much between parts of the day to mention
WEEK_ENTRIES = 3  # entries in the last 7 days before the summary speaks of the week
CHART_BARS = 2    # hours (or days) with entries before a chart is drawn


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
    if sum(1 for group in groups.values() if group) < CHART_BARS:
        return None
    rows = [{x: key, "emotion": name, "share %": round(100 * share, 1), "entries": len(group)}
            for key, group in groups.items() for name, share in mean_shares(group).items()
            if group]
    return pd.DataFrame(rows) if rows else None


def hourly(entries: list[Entry], today: date) -> pd.DataFrame | None:
    """Today's entries by hour: columns hour ("08:00"), emotion, share %, entries.
    None when they fall in fewer than CHART_BARS hours (an empty frame would fix a plot's
    schema)."""
    groups: dict[str, list[Entry]] = {}
    for entry in sorted(within_days(entries, today, 1), key=lambda e: e.local_time):
        groups.setdefault(f"{entry.local_time.hour:02d}:00", []).append(entry)
    return _long_rows(groups, "hour")


def daily(entries: list[Entry], today: date, days: int) -> pd.DataFrame | None:
    """Share of each emotion per day over the last ``days`` days: columns day
    ("2025-01-31"), emotion, share %, entries. Days without entries have no rows; None
    with fewer than CHART_BARS days."""
    groups: dict[str, list[Entry]] = {}
    for entry in sorted(within_days(entries, today, days), key=lambda e: e.local_time):
        groups.setdefault(entry.local_time.date().isoformat(), []).append(entry)
    return _long_rows(groups, "day")


def dominant(entries: list[Entry]) -> str | None:
    """The emotion most entries show (a tie: the larger mean share), or None without
    entries."""
    if not entries:
        return None
    counts, shares = Counter(e.emotion for e in entries), mean_shares(entries)
    return max(counts, key=lambda name: (counts[name], shares[name]))


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
    if len(week) < WEEK_ENTRIES:
        return _first_entries(week)
    counts = Counter(e.emotion for e in week).most_common()
    first = dominant(week)
    rest = [(name, n) for name, n in counts if name != first]
    sentence = f"Mostly **{first}** this week ({dict(counts)[first]} of {len(week)} entries"
    sentence += f", then {rest[0][0]} {rest[0][1]})" if rest else ")"
    happiest = happiest_part_of_day(week)
    if happiest:
        sentence += f", happier in the {happiest}s" if happiest != NIGHT else ", happier at night"
    sentence += "."
    todays = within_days(week, today, 1)
    if todays:
        sentence += f" Today: {len(todays)}, mostly {dominant(todays)}."
    return sentence


def _first_entries(week: list[Entry]) -> str:
    """Too few entries to speak of a week: each one as it was."""
    each = "; ".join(f"{e.emotion} ({e.probabilities[e.emotion]:.0%}) on "
                     f"{e.local_time:%a} at {e.local_time:%H:%M}"
                     for e in sorted(week, key=lambda e: e.local_time))
    word = "entry" if len(week) == 1 else "entries"
    return (f"{len(week)} {word} this week: {each}. With {WEEK_ENTRIES} or more, this says how "
            f"your week went; the charts compare hours and days once there are two.")
