"""The mood journal: the Journal tab (summary, charts, suggestions, entries, export, import,
delete) and the adders under a photo's or a live session's results. The journal lives in
the person's browser (gr.BrowserState), never on our disk: the server only sees the
entries an action sends, in memory; an export is saved by the browser and an import read
by it, so no journal file is ever uploaded nor cached here."""

from __future__ import annotations

import gradio as gr

from emotion_recognition.core.annotate import colour_hex
from emotion_recognition.core.labels import EMOTIONS7
from emotion_recognition.core.limits import LIMITS
from emotion_recognition.serving import journal
from emotion_recognition.serving.server import Server
from ui.components import asset, emotion_legend

STORAGE_KEY = "emotion-journal"
# BrowserState encrypts with a secret the page itself carries (so it obfuscates, no more);
# a fixed one keeps the journal readable after a server restart, which a random one would not.
SECRET = "emotion-journal-v1"
EMOTION_HEX = {name: colour_hex(name) for name in EMOTIONS7}
JOURNAL_WIDTHS = ["24%", "17%", "23%", "36%"]  # time, source, emotion, note: all on a phone


def journal_store() -> gr.BrowserState:
    """Where the page keeps the journal: its browser's local storage."""
    return gr.BrowserState([], storage_key=STORAGE_KEY, secret=SECRET)


def with_local_time(inputs: list) -> str:
    """JS for an event whose last input is a clock: the browser's local time goes there."""
    return asset("local_time.js", COUNT=len(inputs))


def _answer(change: journal.Change) -> tuple:
    """(entries to store, message, note) as Gradio updates: unchanged ones skipped."""
    return (gr.skip() if change.entries is None else change.entries, change.message,
            "" if change.note_done else gr.skip())


def journal_adder(faces: gr.JSON, selector: gr.Radio, source: str,
                  store: gr.BrowserState) -> tuple[gr.Row, gr.Markdown]:
    """Under a photo/snapshot result: the face picked in the results, a note, add. Returns
    the row (hidden: the tab shows it with a result) and the message (cleared by a new one)."""

    def journal_add_face(faces, face_index, note, entries, clock):
        """The face picked in the results (the one the bars show) -> a new journal entry."""
        return _answer(journal.add_face(faces, face_index, note, entries, clock, source))

    with gr.Row(elem_classes=["journal-adder"], visible=False) as row:
        note = gr.Textbox(label="Note for your journal (optional)", scale=2,
                          max_length=LIMITS.journal_note_chars,
                          placeholder="e.g. after the morning run")
        add = gr.Button("Add to my journal", scale=1)
    message = gr.Markdown(elem_classes=["journal-added"])
    clock = gr.Textbox(visible=False)
    inputs = [faces, selector, note, store, clock]
    add.click(journal_add_face, inputs, [store, message, note], js=with_local_time(inputs),
              api_visibility="private")
    return row, message


def journal_live_adder(server: Server, session: gr.HTML, store: gr.BrowserState) -> None:
    """Under a live session: its average for your face (asked for when several were seen)."""

    def journal_add_live(session_id: str | None, face_id, note, entries, clock):
        """A live session, averaged over the frames of the person's face."""
        change = journal.add_live(server, session_id, face_id, note, entries, clock)
        picker = gr.skip() if change.pick_from is None else gr.update(
            choices=change.pick_from, value=None, visible=True)
        return (*_answer(change), picker)

    with gr.Row(elem_classes=["journal-adder"]):
        face = gr.Dropdown([], label="Which face is yours?", visible=False, scale=1,
                           min_width=280)  # its names whole, on a phone on a row of its own
        note = gr.Textbox(label="Note for your journal (optional)", scale=2,
                          max_length=LIMITS.journal_note_chars)
        add = gr.Button("Add this session to my journal", scale=1)
    message = gr.Markdown()
    clock = gr.Textbox(visible=False)
    inputs = [session, face, note, store, clock]
    add.click(journal_add_live, inputs, [store, message, note, face],
              js=with_local_time(inputs), api_visibility="private")


def journal_tab(store: gr.BrowserState) -> None:
    with gr.Tab("Journal") as tab:
        gr.Markdown("Your mood journal lives **only in this browser** (its local storage). Our "
                    "server keeps nothing: it works on the entries an action sends, in memory; "
                    "your browser saves an export and reads an import. Add a photo, a webcam "
                    "snapshot or a live session with the button under its result.")
        summary = gr.Markdown(elem_classes=["journal-summary"])
        gr.HTML(emotion_legend("Colours of the charts"), elem_classes=["emotion-legend"])
        with gr.Row():  # side by side on a wide screen, one above the other on a phone
            today = _plot("Today, hour by hour", "hour", "journal-today")
            week = _plot("The last 7 days", "day", "journal-week")
        month = _plot("The last 30 days", "day", "journal-month")
        with gr.Accordion("Suggestions (just for fun)", open=True):
            suggestion_for = gr.Dropdown(journal.SUGGESTION_CHOICES, value="latest",
                                         label="Suggestions for")
            ideas = gr.Markdown(elem_classes=["journal-suggestions"])
            more = gr.Button("Other ideas", size="sm")
        table = gr.Dataframe(label="Your entries (newest first)", interactive=False,
                             elem_classes=["journal-table"], max_height=400, wrap=True,
                             column_widths=JOURNAL_WIDTHS)
        _transfer(store)
    def journal_refresh(entries, suggestion_for, seed, clock):
        """Summary, charts, entries table and suggestions for the Journal tab."""
        summary, *charts, table, ideas = journal.refresh(entries, suggestion_for, seed, clock)
        return summary, *(_chart(chart) for chart in charts), table, ideas

    seed, clock = gr.State(0), gr.Textbox(visible=False)
    inputs = [store, suggestion_for, seed, clock]
    gr.on([store.change, tab.select, suggestion_for.change, seed.change], journal_refresh,
          inputs, [summary, today, week, month, table, ideas], js=with_local_time(inputs),
          api_visibility="private", show_progress="hidden")
    more.click(lambda n: int(n or 0) + 1, [seed], [seed], api_visibility="private")


def _chart(rows):
    """A chart's update: its rows; none (no entries in its days): its old rows kept, hidden
    (a plot whose rows become None throws errors from its resize code)."""
    return gr.update(visible=False) if rows is None else gr.update(value=rows, visible=True)


def _plot(label: str, x: str, css_class: str) -> gr.BarPlot:
    """Stacked shares per hour or day, in the colours of the boxes."""
    return gr.BarPlot(None, x=x, y="share %", color="emotion", color_map=EMOTION_HEX,
                      colors_in_legend=[], y_aggregate="sum", sort="x", y_lim=[0, 100],
                      min_width=340, x_label_angle=-45 if x == "day" else 0, tooltip=["entries"],
                      label=label, elem_classes=[css_class])


def _transfer(store: gr.BrowserState) -> None:
    """Export, import and delete everything (with a confirmation)."""

    def journal_export(entries):
        """The journal as CSV text, which the browser saves as a download."""
        return journal.export(entries)

    def journal_import(text, entries):
        """CSV text read by the browser -> entries merged into the journal."""
        change = journal.import_csv(text, entries)
        return gr.skip() if change.entries is None else change.entries, change.message

    with gr.Row():
        export = gr.Button("Export as CSV", min_width=300)  # stacked on a phone
        with gr.Column(min_width=300):  # (an HTML block alone does not keep a minimum width)
            importer = gr.HTML("", html_template=asset("journal_import.html"),
                               css_template=asset("journal_import.css"),
                               elem_classes=["journal-import"],
                               js_on_load=asset("journal_import.js",
                                                IMPORT_BYTES=LIMITS.journal_import_bytes))
        delete = gr.Button("Delete everything…", variant="stop", min_width=300)
    with gr.Column(visible=False, elem_classes=["journal-confirm"]) as confirm:
        gr.Markdown("**Delete every entry from this browser?** This cannot be undone; export "
                    "first if you want a copy.")  # the whole width: no squeezed column
        with gr.Row():
            sure = gr.Button("Yes, delete everything", variant="stop", min_width=150)
            cancel = gr.Button("Cancel", min_width=150)
    message = gr.Markdown(elem_classes=["journal-message"])
    csv_text = gr.Textbox(visible=False)
    exported = export.click(journal_export, [store], [csv_text, message],
                            api_visibility="private")
    exported.then(None, [csv_text], None, js=asset("download_csv.js"))
    importer.input(journal_import, [importer, store], [store, message],
                   api_visibility="private")
    delete.click(lambda: (gr.update(visible=True), ""), None, [confirm, message],
                 api_visibility="private")
    cancel.click(lambda: gr.update(visible=False), None, [confirm], api_visibility="private")
    sure.click(lambda: ([], gr.update(visible=False), "Your journal is empty now."), None,
               [store, confirm, message], api_visibility="private")
