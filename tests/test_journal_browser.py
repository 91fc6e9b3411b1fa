"""The mood journal in a real browser (Debian's Chromium driven by Playwright).

Adds entries from the Photo and Webcam snapshot tabs, reloads the page, restarts the server,
looks at the charts and summary, exports, deletes everything, imports the export and a bad
file. The server runs with its own temp, cache and home folders and an audit hook that logs
every file it opens for writing, so the test can check that no journal data ever reaches
the server's disk.
"""

from __future__ import annotations

import csv
import os
import re
import time
import uuid
from pathlib import Path

import pytest

from benchmarks.app_server import AppServer
from benchmarks.browser import chromium, open_page
from conftest import EXAMPLES, ROOT, write_y4m

pytestmark = pytest.mark.browser

CANARY = f"journal-canary-{uuid.uuid4().hex[:12]}"  # in every note: findable in any file
SNAPSHOT_TAB, LIVE_TAB = re.compile("snapshot", re.I), re.compile("^Live")  # short or long names
# Runs app.py with an audit hook: every path opened for writing goes to $WRITE_LOG.
AUDITED_APP = """
import os, runpy, sys
log = os.open(os.environ["WRITE_LOG"], os.O_WRONLY | os.O_CREAT | os.O_APPEND)
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND
def hook(event, args):
    if event != "open" or not isinstance(args[0], (str, bytes, os.PathLike)):
        return
    path, mode, flags = args
    if (any(c in mode for c in "wax+") if isinstance(mode, str) else (flags or 0) & WRITE_FLAGS):
        os.write(log, os.fsencode(os.path.abspath(os.fsdecode(path))) + b"\\n")
sys.addaudithook(hook)
sys.argv = ["app.py"]
runpy.run_path("app.py", run_name="__main__")
"""


class Server:
    """python app.py (benchmarks.app_server) under the audit hook, with its own temp, cache
    and home folders, restartable on the same port (the browser's storage is per origin)."""

    def __init__(self, base: Path):
        self.base = base
        self.dirs = {name: base / name for name in ("gradio", "tmp", "home")}
        for folder in self.dirs.values():
            folder.mkdir(parents=True, exist_ok=True)
        self.write_log, self.started_at, self.log_start = base / "writes.log", time.time(), 0
        env = {"GRADIO_TEMP_DIR": str(self.dirs["gradio"]), "TMPDIR": str(self.dirs["tmp"]),
               "HOME": str(self.dirs["home"]), "MPLCONFIGDIR": str(self.dirs["home"] / "mpl"),
               "WRITE_LOG": str(self.write_log)}
        self.app = AppServer(base / "app.log", env, python_args=["-c", AUDITED_APP])
        self.url = self.app.url

    def start(self) -> None:
        self.app.start()
        self.log_start = self.write_log.stat().st_size  # what startup wrote is not ours

    def stop(self) -> None:
        self.app.stop(timeout=15)

    def mark(self) -> int:
        return self.write_log.stat().st_size

    def quiet_mark(self, still_s: float = 2.0) -> int:
        """A mark once the server has written nothing for ``still_s`` (a stopped stream's
        last frames land in the cache a moment after Stop)."""
        mark, deadline = self.mark(), time.time() + 30
        while time.time() < deadline:
            time.sleep(still_s)
            if self.mark() == mark:
                return mark
            mark = self.mark()
        raise AssertionError("the server kept writing files")

    def written_since(self, mark: int | None = None) -> list[Path]:
        """Paths the server opened for writing since ``mark`` (default: since it started)."""
        with open(self.write_log, "rb") as handle:
            handle.seek(self.log_start if mark is None else mark)
            return [Path(line) for line in handle.read().decode().splitlines() if line]

    def assert_no_journal_on_disk(self) -> None:
        """Nothing the server wrote, and nothing in its temp/cache/home or the repository
        written since the test began, holds a journal note; the server wrote no CSV at all."""
        written = set(self.written_since())
        assert not [p for p in written if p.suffix.lower() == ".csv"], written
        candidates = {p for p in written if p.is_file()}
        for folder in (*self.dirs.values(), ROOT):
            candidates |= set(_files_changed_since(folder, self.started_at))
        holding = [p for p in candidates if CANARY.encode() in p.read_bytes()]
        assert not holding, f"journal data on the server's disk: {holding}"


def _files_changed_since(folder: Path, moment: float):
    for top, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d not in (".git", ".venv", "node_modules")]
        for name in files:
            path = Path(top, name)
            try:
                if path.is_file() and path.stat().st_mtime >= moment:
                    yield path
            except OSError:  # removed meanwhile
                continue


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("journal_server"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def page(server, tmp_path_factory):
    camera = write_y4m(tmp_path_factory.mktemp("camera") / "face.y4m")
    with chromium(camera) as browser:
        yield open_page(browser, server.url, {"width": 1280, "height": 1000}, camera=True,
                        timeout_ms=60_000)


def _shown(locator):
    """The first match on the tab shown (other tabs keep their elements, hidden)."""
    return locator.locator("visible=true").first


def _add(page, server, note: str, button: str = "Add to my journal") -> None:
    """Add the analysed face (of the tab shown); the server writes no file meanwhile."""
    mark = server.quiet_mark()
    _shown(page.get_by_label("Note for your journal (optional)")).fill(note)
    _shown(page.get_by_role("button", name=button)).click()
    _shown(page.get_by_text("Added to your journal")).wait_for()
    assert server.written_since(mark) == []


def _journal_rows(page) -> list[list[str]]:
    """The Journal tab's entries table (a virtual grid: rows and cells by their ARIA roles)."""
    page.get_by_role("tab", name="Journal").click()
    grid = page.locator(".journal-table [role=grid]").first
    return [row.locator("[role=gridcell]").all_inner_texts()
            for row in grid.locator("[role=row].virtual-row").all()]


def _wait_for_rows(page, count: int) -> list[list[str]]:
    page.get_by_role("tab", name="Journal").click()
    page.wait_for_function(  # aria-rowcount counts the header row too
        "n => { const g = document.querySelector('.journal-table [role=grid]'); "
        "return g && g.getAttribute('aria-rowcount') === String(n + 1) && "
        "g.querySelectorAll('[role=row].virtual-row').length === n; }", arg=count)
    return _journal_rows(page)


def test_add_a_face_of_a_group_photo_after_picking_it(page, server):
    page.locator("input[type=file]").first.set_input_files(str(EXAMPLES / "three_faces.jpg"))
    page.get_by_role("button", name="Analyse", exact=True).first.click()
    _shown(page.get_by_text(re.compile(r"3 face(\(s\)|s) found"))).wait_for()
    page.get_by_role("button", name="Add to my journal").first.click()
    page.get_by_text("pick yours first").first.wait_for()  # nothing added yet
    option = _shown(page.locator(".face-selector").get_by_text("Face 2:"))  # the one picker
    label, percent = option.inner_text().split(": ")[1].split()  # "Face 2: neutral 52%"
    option.click()
    _shown(page.locator(".face-bars").get_by_text("Face 2:")).wait_for()  # the bars follow
    _add(page, server, f"{CANARY} photo")
    row = _wait_for_rows(page, 1)[0]  # time, source, emotion ("happy 96%"), note
    assert row[1:3] == ["photo", f"{label} {percent}"]  # face 2's
    _assert_one_entry_is_no_week(page, f"{label} ({percent})")
    server.assert_no_journal_on_disk()


def _assert_one_entry_is_no_week(page, shown: str) -> None:
    """Issue 25 (11): one entry is told as it was ("1 entry this week: neutral (52%) on Sat
    at 08:40"), not as the week's mood, and no chart of one bar is drawn."""
    summary = page.locator(".journal-summary").last
    summary.get_by_text("1 entry this week").wait_for()
    text = summary.inner_text()
    assert "Mostly" not in text and f"1 entry this week: {shown} on " in text, text
    for chart in ("journal-today", "journal-week", "journal-month"):
        assert not page.locator(f".{chart}").first.is_visible(), chart


def test_add_a_webcam_snapshot(page, server, tmp_path):
    page.get_by_role("tab", name=SNAPSHOT_TAB).click()
    page.get_by_role("button", name="Click to Access Webcam").click()
    _wait_for_camera(page)  # the face is showing
    page.get_by_role("button", name="capture photo").click()
    page.get_by_role("button", name="Analyse", exact=True).first.click()
    _shown(page.get_by_text(re.compile(r"1 face(\(s\))? found"))).wait_for()
    _add(page, server, f"{CANARY} snapshot")
    page.screenshot(path=str(tmp_path / "snapshot_added.png"), full_page=True)
    server.assert_no_journal_on_disk()


def _wait_for_camera(page) -> None:
    page.wait_for_function("() => [...document.querySelectorAll('video')].some("
                           "v => v.checkVisibility() && v.readyState >= 2 && v.videoWidth > 0)")


def test_add_a_live_session(page, server):
    page.get_by_role("tab", name=LIVE_TAB).click()
    page.get_by_role("button", name="Start the camera").click()
    _wait_for_camera(page)
    page.wait_for_timeout(5000)
    page.get_by_role("button", name="Stop", exact=True).click()
    _add(page, server, f"{CANARY} live", button="Add this session to my journal")
    server.assert_no_journal_on_disk()


def test_entries_survive_a_reload_and_a_server_restart(page, server):
    page.reload()
    rows = _wait_for_rows(page, 3)
    assert [r[1] for r in rows] == ["live", "snapshot", "photo"]  # newest first
    assert [r[3] for r in rows] == [f"{CANARY} live", f"{CANARY} snapshot", f"{CANARY} photo"]
    server.stop()
    server.start()
    page.reload()
    assert _wait_for_rows(page, 3) == rows


def test_charts_summary_and_suggestions(page, tmp_path):
    page.get_by_role("tab", name="Journal").click()
    summary = page.locator(".journal-summary").last
    summary.get_by_text("this week").wait_for()
    assert summary.inner_text().startswith("Mostly ") and "of 3 entries" in summary.inner_text()
    for chart in ("journal-week", "journal-month"):  # one day: one bar, not drawn
        assert not page.locator(f".{chart}").first.is_visible(), chart
    legend = page.locator(".emotion-legend:visible").first  # the charts' colours, all shown
    assert legend.get_by_text("neutral").is_visible() and legend.get_by_text("angry").is_visible()
    ideas = page.locator(".journal-suggestions").last
    assert "not medical" in ideas.inner_text() and "Music:" in ideas.inner_text()
    page.screenshot(path=str(tmp_path / "journal_tab.png"), full_page=True)
    week = summary.inner_text().split()[1]  # "Mostly happy this week ..."
    for choice, emotion in (("my mood this week", week), ("sad", "sad")):
        page.get_by_label("Suggestions for").click()
        page.get_by_role("option", name=choice, exact=True).click()
        ideas.get_by_text(f"Ideas for when you feel {emotion}").wait_for()
    shown = ideas.inner_text()
    for _ in range(6):  # 81 combinations per emotion: a new pick differs almost surely
        page.get_by_role("button", name="Other ideas").click()
        page.wait_for_timeout(1500)
        if ideas.inner_text() != shown:
            break
    assert ideas.inner_text() != shown and "Ideas for when you feel sad" in ideas.inner_text()


def test_export_delete_everything_and_import_the_export(page, server, tmp_path):
    before, mark = _journal_rows(page), server.mark()
    with page.expect_download() as download:
        page.get_by_role("button", name="Export as CSV").click()
    exported = tmp_path / "journal.csv"
    download.value.save_as(exported)
    rows = list(csv.DictReader(exported.open()))
    assert sorted(r["source"] for r in rows) == ["live", "photo", "snapshot"]
    assert all(r["note"].startswith(CANARY) for r in rows)
    server.assert_no_journal_on_disk()

    page.get_by_role("button", name="Delete everything…").click()
    page.get_by_role("button", name="Yes, delete everything").click()
    page.get_by_text("Your journal is empty now").wait_for()
    page.reload()
    assert _wait_for_rows(page, 0) == []
    stored = page.evaluate("[localStorage, sessionStorage].map(s => Object.values(s).join(' '))"
                           ".join(' ')")
    assert CANARY not in stored  # no plain copy left in the browser either (run history is off)

    page.locator(".journal-import input[type=file]").set_input_files(str(exported))
    page.get_by_text("Imported 3 new entries").wait_for()
    assert _wait_for_rows(page, 3) == before
    assert server.written_since(mark) == []  # export, delete, reload, import: no file at all
    server.assert_no_journal_on_disk()


def test_a_bad_csv_gets_a_clear_message_and_changes_nothing(page, server, tmp_path):
    mark, bad = server.mark(), tmp_path / "session.csv"
    bad.write_text("time_s,frame,face,label\n0.1,1,1,happy\n")
    page.locator(".journal-import input[type=file]").set_input_files(str(bad))
    message = page.locator(".journal-message").last
    message.get_by_text("Import failed").wait_for()
    text = message.inner_text()
    assert "not a journal export" in text and "missing columns" in text
    assert len(_journal_rows(page)) == 3
    assert server.written_since(mark) == []


NOTE = "after the morning run with friends, then coffee by the river"


def _journal_csv(path: Path) -> Path:
    """Two entries of a journal export, an hour ago and two days ago (two days of the
    week's chart), one with a long note."""
    from datetime import datetime, timedelta, timezone

    from emotion_recognition.journal.entries import CSV_COLUMNS

    now = datetime.now(timezone.utc)
    rows = [[(now - timedelta(days=2)).isoformat(timespec="seconds"), "photo", "emotion7",
             "happy", NOTE, 0.01, 0.01, 0.01, 0.9, 0.02, 0.02, 0.03],
            [(now - timedelta(hours=1)).isoformat(timespec="seconds"), "live", "emotion7",
             "neutral", "tired", 0.05, 0.01, 0.04, 0.1, 0.1, 0.05, 0.65]]
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows([CSV_COLUMNS, *rows])
    return path


def test_on_a_phone_words_stay_whole_and_a_reload_after_deleting_throws_nothing(
        page, server, tmp_path):
    """390x844: the import is a button like its neighbours, the table shows the whole note,
    no word of the table or the delete confirmation is broken; deleting everything, then
    reloading at once, throws no error in the page."""
    from test_browser import BROKEN_WORDS, screenshot_dir

    phone = open_page(page.context.browser, server.url, {"width": 390, "height": 844},
                      timeout_ms=60_000)
    errors: list[str] = []
    phone.on("pageerror", lambda error: errors.append(str(error)))
    try:
        journal = phone.get_by_role("tab", name="Journal")
        journal.click()
        importer = phone.locator(".journal-import-button")
        export = phone.get_by_role("button", name="Export as CSV")
        assert importer.evaluate("e => getComputedStyle(e).backgroundColor") == export.evaluate(
            "e => getComputedStyle(e).backgroundColor")  # styled like the buttons beside it
        assert importer.locator("input").bounding_box()["width"] <= 1  # no native picker shown
        importer.locator("input").set_input_files(str(_journal_csv(tmp_path / "j.csv")))
        phone.get_by_text("Imported 2 new entries").wait_for()
        rows = _wait_for_rows(phone, 2)
        assert rows[1][3] == NOTE and rows[1][2] == "happy 90%"
        phone.locator(".journal-week canvas, .journal-week svg").first.wait_for()
        summary = phone.locator(".journal-summary").last.inner_text()
        assert summary.startswith("2 entries this week: happy (90%)") and "Mostly" not in summary
        assert not phone.locator(".journal-today").first.is_visible()  # one hour: no chart
        note = phone.locator(".journal-table [role=gridcell]").filter(has_text=NOTE).first
        assert note.evaluate("c => c.scrollHeight <= c.clientHeight + 1 && "
                             "c.scrollWidth <= c.clientWidth + 1")  # all of it shown
        table = ".journal-table :is([role=columnheader], [role=gridcell])"
        assert phone.evaluate(BROKEN_WORDS, table) == []
        phone.get_by_role("button", name="Delete everything…").click()
        confirm = phone.locator(".journal-confirm").first
        confirm.get_by_text("This cannot be undone").wait_for()
        assert confirm.locator(".prose").first.bounding_box()["width"] > 300
        assert phone.evaluate(BROKEN_WORDS, ".journal-confirm") == []
        phone.screenshot(path=str(screenshot_dir() / "journal_delete_phone.png"), full_page=True)
        phone.get_by_role("button", name="Yes, delete everything").click()
        phone.get_by_text("Your journal is empty now").wait_for()
        phone.reload()
        phone.get_by_role("tab", name="Journal").click()
        phone.wait_for_timeout(1500)
        assert errors == []
    finally:
        phone.context.close()
