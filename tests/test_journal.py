"""The mood journal's core: entries, CSV export/import and its validation, views, summary,
suggestions. Plain Python: no Gradio, no model, no disk."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest

from emotion_recognition.core.errors import EmotionAppError
from emotion_recognition.core.labels import EMOTIONS4, EMOTIONS7
from emotion_recognition.core.limits import LIMITS
from emotion_recognition.journal import entries as journal, suggestions, views as journal_views
from emotion_recognition.journal.entries import JournalError

pytestmark = pytest.mark.unit

NOW = datetime.fromisoformat("2025-03-14T18:30:00+01:00")


def probs(top: str, labels=EMOTIONS7, p: float = 0.7) -> dict[str, float]:
    rest = (1 - p) / (len(labels) - 1)
    return {name: (p if name == top else rest) for name in labels}


def entry(top: str, when, labels=EMOTIONS7, source="photo", note="") -> journal.Entry:
    return journal.new_entry([probs(top, labels)], source, note, when)


def stored(*entries) -> list[dict]:
    return [e.to_dict() for e in entries]


# --- entries -------------------------------------------------------------------------------

def test_an_entry_from_a_face_keeps_time_source_set_probabilities_and_note_but_no_image():
    face = {"box": [1, 2, 3, 4], "label": "happy", "confidence": 0.7, "probabilities": probs("happy")}
    item = journal.new_entry([face["probabilities"]], "photo", "  after   lunch ", NOW).to_dict()
    assert item == {"time": "2025-03-14T18:30:00+01:00", "source": "photo",
                    "emotion_set": "emotion7",
                    "probabilities": pytest.approx(face["probabilities"], abs=1e-4),
                    "note": "after lunch"}


def test_the_emotion_set_follows_the_labels_and_a_live_session_is_averaged():
    frames = [probs("sad", EMOTIONS4, 0.9), probs("angry", EMOTIONS4, 0.5)]
    four = journal.new_entry(frames, "live", time=NOW)
    assert four.emotion_set == "emotion4" and set(four.probabilities) == set(EMOTIONS4)
    assert four.probabilities["sad"] == pytest.approx((0.9 + 0.5 / 3) / 2, abs=1e-4)
    assert four.emotion == "sad"


@pytest.mark.parametrize("change, message", [
    ({"source": "webpage"}, "source"),
    ({"emotion_set": "emotion9"}, "emotion set"),
    ({"time": "yesterday"}, "not a date"),
    ({"time": "1850-01-01T10:00:00"}, "plausible"),
    ({"note": "x" * (LIMITS.journal_note_chars + 1)}, "longer than"),
    ({"probabilities": {"happy": 1.0}}, "missing"),
    ({"probabilities": {**probs("happy"), "happy": 1.7}}, "between 0 and 1"),
    ({"probabilities": {**probs("happy"), "happy": 0.1}}, "add up"),
])
def test_bad_entries_are_refused_with_a_reason(change, message):
    with pytest.raises(JournalError, match=message):
        journal.Entry.from_dict({**entry("happy", NOW).to_dict(), **change})


def test_load_skips_unreadable_items_and_sorts_by_the_persons_clock():
    late, early = entry("sad", "2025-03-14T09:00:00+09:00"), entry("happy", "2025-03-14T08:00:00")
    loaded = journal.load([late.to_dict(), {"junk": 1}, "text", early.to_dict()])
    assert [e.emotion for e in loaded] == ["happy", "sad"]
    assert journal.load(None) == [] and journal.load({"not": "a list"}) == []


def test_load_reads_at_most_the_newest_max_entries(monkeypatch):
    monkeypatch.setattr(journal, "LIMITS", replace(LIMITS, journal_entries=2))
    items = stored(*[entry("sad", NOW - timedelta(hours=h)) for h in (3, 2, 1)])
    assert [e.time for e in journal.load(items)] == [NOW - timedelta(hours=h) for h in (2, 1)]


def test_add_and_merge_never_drop_what_they_cannot_read():
    """A stored item this version cannot read (an older or newer format, a hand edit) is
    written back as it was: a change to validation must not delete a person's entries."""
    odd = [{"time": "2025-03-14T08:00:00", "source": "photo", "emotion_set": "emotion9"}, "text"]
    kept = stored(entry("sad", NOW))
    added = journal.add([*odd, *kept], entry("happy", NOW - timedelta(hours=1)))
    assert added[:2] == odd and len(added) == 4
    merged, new = journal.merge(added, [entry("fear", NOW - timedelta(hours=2))])
    assert new == 1 and merged[:2] == odd and len(merged) == 5
    assert [e.emotion for e in journal.load(merged)] == ["fear", "happy", "sad"]


def test_add_keeps_order_and_refuses_past_the_limit(monkeypatch):
    first = journal.add([], entry("sad", NOW))
    both = journal.add(first, entry("happy", NOW - timedelta(hours=1)))
    assert [e["time"] for e in both] == ["2025-03-14T17:30:00+01:00", "2025-03-14T18:30:00+01:00"]
    monkeypatch.setattr(journal, "LIMITS", replace(LIMITS, journal_entries=2))
    with pytest.raises(JournalError, match="full"):
        journal.add(both, entry("fear", NOW))


def test_the_person_picks_their_face_when_a_photo_has_several():
    faces = [{"probabilities": probs("happy")}, {"probabilities": probs("sad")}]
    with pytest.raises(journal.PickAFace, match="pick which face is yours"):
        journal.photo_probabilities(faces, None)
    assert journal.photo_probabilities(faces, 1) == [probs("sad")]
    assert journal.photo_probabilities(faces[:1], None) == [probs("happy")]  # one face: no question
    with pytest.raises(JournalError, match="Analyse a photo"):
        journal.photo_probabilities([], 0)


def record(face_id: int, top: str, labels=EMOTIONS7):
    return SimpleNamespace(face=SimpleNamespace(face_id=face_id, probabilities=probs(top, labels)))


def test_a_live_session_counts_the_persons_face_in_its_latest_emotion_set():
    two = [record(1, "happy"), record(2, "sad"), record(1, "happy", EMOTIONS4),
           record(1, "sad", EMOTIONS4)]
    with pytest.raises(journal.PickAFace, match="pick which is yours"):
        journal.live_probabilities(two, None)
    assert journal.live_probabilities(two, 1) == [probs("happy", EMOTIONS4), probs("sad", EMOTIONS4)]
    assert journal.live_probabilities(two[1:2], 7) == [probs("sad")]  # one face: a stale pick is moot
    with pytest.raises(JournalError, match="Nothing recorded"):
        journal.live_probabilities([], None)


# --- CSV -----------------------------------------------------------------------------------

def test_csv_round_trip_gives_the_same_entries():
    items = stored(entry("happy", NOW, note='a "quoted", note'),
                   entry("sad", "2025-03-13T07:05:00", EMOTIONS4, "snapshot"),
                   entry("neutral", NOW - timedelta(days=3), source="live"))
    text = journal.to_csv(items)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == journal.CSV_COLUMNS and len(rows) == 3
    four = next(r for r in rows if r["emotion_set"] == "emotion4")
    assert four["disgust"] == "" and four["emotion"] == "sad"
    imported = journal.from_csv(text)
    assert [e.to_dict() for e in imported] == [e.to_dict() for e in journal.load(items)]


def test_import_merges_without_duplicates():
    mine = stored(entry("happy", NOW))
    exported = journal.to_csv(stored(entry("happy", NOW), entry("sad", NOW - timedelta(days=1))))
    merged, added = journal.merge(mine, journal.from_csv(exported))
    assert added == 1 and len(merged) == 2
    again, added_again = journal.merge(merged, journal.from_csv(exported))
    assert added_again == 0 and again == merged


def test_an_excel_style_bom_and_crlf_are_fine():
    text = journal.to_csv(stored(entry("fear", NOW))).replace("\n", "\r\n")
    assert journal.from_csv("\ufeff" + text)[0].emotion == "fear"


def _export_with(**change) -> str:
    row = next(csv.DictReader(io.StringIO(journal.to_csv(stored(entry("happy", NOW))))))
    row.update(change)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(row))
    writer.writeheader()
    writer.writerow(row)
    return out.getvalue()


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("time_s,frame,face,label\n0.1,1,1,happy\n", "missing columns: time, source, emotion_set"),
    ("time,source,emotion_set,mood\n", "unexpected columns: mood"),
    ("\x89PNG\r\n\x1a\n\x00\x00binary", "not a journal export"),
    (_export_with(time="31/02/2025 10:00"), r"line 2: time '31/02/2025 10:00' is not a date"),
    (_export_with(happy="lots"), "line 2: probability of 'happy' is missing or not a number"),
    (_export_with(source="fax"), "line 2: source 'fax'"),
])
def test_a_bad_file_gets_a_clear_message(text, message):
    with pytest.raises(JournalError, match=message):
        journal.from_csv(text)


def test_a_huge_file_is_refused_before_it_is_parsed():
    line = journal.to_csv(stored(entry("happy", NOW))).splitlines()[1]
    with pytest.raises(JournalError, match="over 1 MB"):
        journal.from_csv("\n".join([",".join(journal.CSV_COLUMNS)] + [line] * 20_000))


def test_row_errors_name_the_first_lines_and_count_the_rest():
    good = journal.to_csv(stored(entry("happy", NOW))).splitlines()
    bad = good[1].replace("2025-03-14", "2025-13-45")
    with pytest.raises(JournalError, match=r"5 row\(s\).*line 2.*line 3.*line 4.*and 2 more"):
        journal.from_csv("\n".join([good[0], *[bad] * 5, good[1]]))


def test_a_file_with_too_many_rows_is_refused(monkeypatch):
    monkeypatch.setattr(journal, "LIMITS", replace(LIMITS, journal_entries=3))
    lines = journal.to_csv(stored(entry("happy", NOW))).splitlines()
    with pytest.raises(JournalError, match="more than 3 entries"):
        journal.from_csv("\n".join([lines[0]] + [lines[1]] * 4))


# --- views and summary ---------------------------------------------------------------------

def week_of_entries() -> list[journal.Entry]:
    """Happy mornings, neutral afternoons and evenings over the last days, one old entry."""
    items = []
    for days_ago in range(5):
        day = NOW - timedelta(days=days_ago)
        items.append(entry("happy", day.replace(hour=8)))
        items.append(entry("neutral", day.replace(hour=14)))
        items.append(entry("neutral", day.replace(hour=20)))
    return items + [entry("sad", NOW - timedelta(days=20))]


def test_hourly_has_todays_hours_with_shares_that_add_up():
    frame = journal_views.hourly(week_of_entries(), NOW.date())
    assert sorted(frame["hour"].unique()) == ["08:00", "14:00", "20:00"]
    assert set(frame["emotion"]) == set(EMOTIONS7)
    assert frame.groupby("hour")["share %"].sum().round().eq(100).all()
    eight = frame[frame["hour"] == "08:00"].set_index("emotion")["share %"]
    assert eight["happy"] == pytest.approx(70, abs=0.1)
    assert journal_views.hourly(week_of_entries(), NOW.date() + timedelta(days=1)) is None


def test_daily_counts_the_last_n_days_only():
    seven = journal_views.daily(week_of_entries(), NOW.date(), 7)
    thirty = journal_views.daily(week_of_entries(), NOW.date(), 30)
    assert seven["day"].nunique() == 5 and thirty["day"].nunique() == 6
    assert "2025-02-22" in set(thirty["day"]) and "2025-02-22" not in set(seven["day"])
    today = seven[seven["day"] == "2025-03-14"].set_index("emotion")
    assert today["entries"].iloc[0] == 3
    assert today.loc["neutral", "share %"] == pytest.approx(100 * (0.7 * 2 + 0.05) / 3, abs=0.1)


def test_a_four_emotion_entry_counts_zero_for_the_other_three():
    shares = journal_views.mean_shares([entry("sad", NOW, EMOTIONS4), entry("fear", NOW)])
    assert shares["disgust"] == pytest.approx(0.05 / 2) and sum(shares.values()) == pytest.approx(1)


def test_summary_says_mostly_neutral_and_happier_in_the_mornings():
    text = journal_views.summary(week_of_entries(), NOW)
    assert text.startswith("Mostly **neutral** this week")
    assert "happier in the mornings" in text and "15 entries" in text
    assert "Today: 3, mostly neutral" in text


def test_summary_without_a_clear_part_of_day_or_recent_entries():
    same = [entry("sad", NOW.replace(hour=h)) for h in (8, 14, 20)]
    assert "happier" not in journal_views.summary(same, NOW)
    later = journal_views.summary(same, NOW + timedelta(days=10))
    assert later.startswith("No entries in the last 7 days")
    assert "empty" in journal_views.summary([], NOW)


def test_parts_of_day_follow_the_persons_clock():
    assert [journal_views.part_of_day(NOW.replace(hour=h)) for h in (4, 5, 11, 12, 17, 22)] == \
        ["night", "morning", "morning", "afternoon", "evening", "night"]


# --- suggestions ---------------------------------------------------------------------------

def test_the_table_has_ideas_of_every_kind_for_every_emotion():
    table = suggestions.load_table()
    assert set(table) == set(EMOTIONS7)
    assert all(len(table[e][k]) >= 2 for e in EMOTIONS7 for k in suggestions.KINDS)


def test_suggest_gives_one_idea_per_kind_from_the_table_repeatably():
    picked = suggestions.suggest("sad", seed=3)
    assert [s.kind for s in picked] == list(suggestions.KINDS)
    assert all(s.text in suggestions.load_table()["sad"][s.kind] for s in picked)
    assert picked == suggestions.suggest("sad", seed=3)
    assert len({tuple(suggestions.suggest("sad", seed=s)) for s in range(10)}) > 1


def test_suggestions_are_marked_as_not_advice_and_unknown_emotions_are_refused():
    text = suggestions.as_markdown("happy", suggestions.suggest("happy", seed=0))
    assert "not medical" in text and "Music:" in text
    with pytest.raises(EmotionAppError, match="choose one of"):
        suggestions.suggest("bored")


def test_an_edited_table_with_a_gap_is_refused(tmp_path):
    table = tmp_path / "s.csv"
    table.write_text("emotion,kind,suggestion\nhappy,music,Pop\n")
    with pytest.raises(ValueError, match="no suggestion for angry/activity"):
        suggestions.load_table(table)


@pytest.mark.parametrize("faces, index", [
    (7, None), ("text", None), ([7], None), ([{"probabilities": "x"}], None),
    ([{"probabilities": {}}], None), ([{"probabilities": probs("happy")}] * 2, "x"),
])
def test_faces_sent_back_by_a_browser_are_checked(faces, index):
    with pytest.raises(JournalError):
        journal.photo_probabilities(faces, index)


def test_probabilities_that_are_not_numbers_make_no_entry():
    with pytest.raises(JournalError, match="cannot be added"):
        journal.new_entry([{"happy": "1.0"}], "photo")
    with pytest.raises(JournalError, match="cannot be added"):
        journal.new_entry([{"happy": 1.0}, {"sad": 1.0}], "live")


# --- CSV safety (issue 27 #3, #5) ----------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://example.com/x","click")', "+1+2", "-2+3", "@SUM(A1)",
            "=1+1"]


@pytest.mark.parametrize("note", FORMULAS)
def test_an_export_never_starts_a_cell_with_a_formula_and_imports_back_the_same(note):
    """OWASP's CSV injection: a note imported from a CSV (or typed) that starts with = + -
    @ goes out with a leading apostrophe, so a spreadsheet shows it as text; reading the
    export back gives the note itself."""
    imported = journal.from_csv(_export_with(note=note))
    assert imported[0].note == note
    text = journal.to_csv(stored(*imported))
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert "'" + note in cells
    assert [e.note for e in journal.from_csv(text)] == [note]  # an export imports unchanged


def test_a_tab_first_note_is_neither_a_formula_nor_kept_as_a_tab():
    imported = journal.from_csv(_export_with(note="\t=1+1"))
    assert imported[0].note == "=1+1"
    assert "'=1+1" in journal.to_csv(stored(*imported))


def test_control_characters_and_bidi_overrides_are_removed_on_import_and_entry():
    sneaky = "fine\x00 day\u202egpj.exe\u2066x\u2069 \x1b[31m\u200d\U0001F468\u200d\U0001F469"
    expected = "fine daygpj.exex [31m\u200d\U0001F468\u200d\U0001F469"  # emoji joins kept
    assert journal.from_csv(_export_with(note=sneaky))[0].note == expected
    assert entry("happy", NOW, note=sneaky).note == expected


def test_video_and_live_csv_cells_that_hold_a_file_name_are_formula_safe(tmp_path):
    from emotion_recognition.core.rows import input_row, write_rows_csv

    path = write_rows_csv([input_row("=cmd|' /C calc'!A0.mp4", "video", "no_face")], EMOTIONS7,
                          tmp_path / "rows.csv")
    row = next(csv.DictReader(path.open()))
    assert row["source"] == "'=cmd|' /C calc'!A0.mp4" and row["kind"] == "video"


def test_an_import_error_shows_the_files_markdown_as_text():
    """Issue 27 #5: a bad cell quoted in the message was rendered (an image, a link)."""
    from emotion_recognition.serving.journal import import_csv

    cell = "![x](http://example.com/p.png) [link](http://example.com) <img src=x>"
    change = import_csv(_export_with(time=cell), [])
    assert change.entries is None and "Import failed" in change.message
    assert "](" not in change.message and "<img" not in change.message  # each mark escaped
    assert "\\!\\[x\\]\\(http\\:" in change.message  # shown as the text it is


def test_one_entry_is_told_as_it_was_not_as_a_week_nor_as_charts():
    """Issue 25 (11): one entry (neutral 72 %, angry 14 %) is no week's mood, its angry 14 %
    is the model's doubt, not a mood, and one bar per chart compares nothing."""
    one = journal.new_entry([{"angry": 0.14, "disgust": 0.01, "fear": 0.03, "happy": 0.04,
                              "sad": 0.04, "surprise": 0.02, "neutral": 0.72}], "photo", "",
                            NOW)
    text = journal_views.summary([one], NOW)
    assert "Mostly" not in text and "angry" not in text and "week" in text
    assert text.startswith("1 entry this week: neutral (72%) on Fri at 18:30.")
    assert journal_views.hourly([one], NOW.date()) is None
    assert journal_views.daily([one], NOW.date(), 7) is None
    assert journal_views.daily([one], NOW.date(), 30) is None
    two_hours = [one, entry("happy", NOW.replace(hour=9))]
    assert journal_views.hourly(two_hours, NOW.date())["hour"].nunique() == 2
    assert journal_views.daily(two_hours, NOW.date(), 7) is None  # one day still


def test_the_week_counts_each_entrys_own_emotion():
    """Three entries each 60 % neutral and 40 % sad: mostly neutral, 3 of 3, and no 'then sad'
    (no entry showed sad)."""
    split = {"angry": 0.0, "happy": 0.0, "sad": 0.4, "neutral": 0.6}
    items = [journal.new_entry([split], "photo", "", NOW - timedelta(days=d)) for d in range(3)]
    text = journal_views.summary(items, NOW)
    assert text.startswith("Mostly **neutral** this week (3 of 3 entries).")
    assert "sad" not in text
