"""Gradio app: photos, webcam snapshots, a live webcam stream and videos, every face boxed and
labelled with its emotion; a mood journal kept in the browser.

This file only lays out the page: one tab per module of ui/, each wiring its events to the
actions of emotion_recognition.serving (which work without Gradio). Nothing happens at
import; ``build_demo()`` makes the page and ``python app.py`` serves it on
http://127.0.0.1:7860 (GRADIO_SERVER_NAME and GRADIO_SERVER_PORT change where).
"""

from __future__ import annotations

import logging
import os

import gradio as gr
from fastapi.exceptions import RequestValidationError
from gradio.route_utils import FnIndexInferError

from emotion_recognition.core.limits import LIMITS
from emotion_recognition.serving.clients import trust_only_known_proxies
from emotion_recognition.serving.middleware import unreadable_body
from emotion_recognition.serving.server import Server
from ui.components import ASSETS
from ui.fair_queue import make_fair
from ui.journal_tab import journal_store, journal_tab
from ui.live_tab import live_tab
from ui.photo_tab import photo_tab
from ui.safe_blocks import SafeBlocks, not_found
from ui.video_tab import video_tab

TITLE = "Facial emotion recognition"
INTRO = ("Every face in a photo, a webcam snapshot, a live stream or a video, boxed and "
         "labelled with its emotion.")
HOW = ("Every face in the picture is found with OpenCV's Haar cascade, checked by Google's "
       "BlazeFace, and labelled by our CNN trained on FER2013.")


def build_demo(server: Server | None = None) -> gr.Blocks:
    """The page, served by ``server`` (default: a new one, Server.open())."""
    server = server or Server.open()
    os.environ["GRADIO_TEMP_DIR"] = str(server.files.root)  # Gradio saves uploads there
    with SafeBlocks(server.files, title=TITLE, analytics_enabled=False) as demo:
        gr.Markdown(f"# {TITLE}\n{INTRO}", elem_classes=["intro"])
        with gr.Accordion("Privacy, limits and how it works", open=False,
                          elem_classes=["privacy"]):
            gr.Markdown(f"{server.files.retention.privacy_text()}\n\n{LIMITS.photo_text()}"
                        f"\n\n{HOW}")
        store = journal_store()
        with gr.Tab("Photo"):
            photo_tab(server, ["upload", "clipboard"], with_examples=True, api_name="analyze",
                      journal_store=store)
        with gr.Tab("Snapshot"):
            photo_tab(server, ["webcam"], with_examples=False, api_name=None,
                      journal_store=store)
        with gr.Tab("Live"):
            live_tab(server, store)
        with gr.Tab("Video"):
            video_tab(server)
        journal_tab(store)
    demo.queue(default_concurrency_limit=LIMITS.photo_workers)
    make_fair(demo)  # requests checked as they join; photos in a room of their own
    server.files.protect(path for block in demo.blocks.values()  # the cached example photos
                         for path in getattr(block, "keep_in_cache", ()))
    demo.server = server
    return demo


def launch(demo: gr.Blocks) -> None:
    """Serve the page with the server's guards: bodies and uploads counted, the live route,
    sweeping, 404s for unknown endpoints, a clean stop; no run history in the browser (the
    journal leaves no copy there)."""
    server: Server = demo.server
    server.warm_up()  # load the model before serving: a quick first answer
    server.clean_up_on_exit()  # SIGTERM, Ctrl+C or a normal exit: nothing of ours is left
    trust_only_known_proxies()  # X-Forwarded-For only from FORWARDED_ALLOW_IPS (or a Space's)
    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                head_paths=[ASSETS / "phone.html", ASSETS / "results.html"],
                max_file_size=LIMITS.upload_bytes,
                footer_links=["api"], run_history=False,
                app_kwargs={**server.web_settings(),
                            "exception_handlers": {FnIndexInferError: not_found,
                                                   KeyError: not_found,
                                                   RequestValidationError: unreadable_body}})


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    launch(build_demo())
