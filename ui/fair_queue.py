"""Gradio's event queue, fair to everyone: a request is checked when it joins, photos wait
in a room of their own, videos and each client hold a bounded share.

Gradio's own queue holds ``max_size`` events for all endpoints together and checks a
request only when its turn comes, so one client could fill it with requests that cost
nothing (empty ones behind a long video) and every photo got "Queue is full". Here:
- a request with too few values (say an empty one) is refused when it joins, with the
  message it would have got at its turn;
- photos and snapshots (PHOTO_ROOM) wait in their own room of LIMITS.queue_size places,
  every other event in another, of which videos (VIDEO_ROOM) hold at most
  LIMITS.video_queue_size;
- one client (serving/clients.py) has at most LIMITS.queue_per_client requests waiting.
A refusal is an HTTP 400 whose detail the page shows as it is.
"""

from __future__ import annotations

import gradio as gr
from gradio import route_utils
from gradio.queueing import Queue

from emotion_recognition.core.limits import LIMITS
from emotion_recognition.serving.clients import client_address
from emotion_recognition.serving.log import log_user_error
from ui.photo_tab import RUN as PHOTO_RUN
from ui.video_tab import RUN as VIDEO_RUN

PHOTO_ROOM = PHOTO_RUN["concurrency_id"]
VIDEO_ROOM = VIDEO_RUN["concurrency_id"]


class FairQueue(Queue):
    """Gradio's queue with the checks of the module's docstring at join."""

    async def push(self, body, request, username):
        try:
            fn = route_utils.get_fn(self.blocks, None, body) if body.fn_index is not None else None
        except KeyError:  # an event number that is not one of ours: Gradio's own answer (404)
            fn = None
        if fn is not None:
            refusal = self.refusal(fn, client_address(request.scope))
            if refusal:
                log_user_error(fn.api_name or fn.name, refusal)
            refusal = refusal or self.invalid(fn, body)  # (logged by the check)
            if refusal:
                return False, refusal, "error"
        return await super().push(body, request, username)

    def refusal(self, fn, client: str) -> str | None:
        """Why ``client`` may not queue one more ``fn`` now (a room or its share is full)."""
        waiting = [event for queue in self.event_queue_per_concurrency_id.values()
                   for event in queue.queue]
        if sum(_client_of(event) == client for event in waiting) >= LIMITS.queue_per_client:
            return (f"This address already has {LIMITS.queue_per_client} requests waiting in "
                    "the queue: please wait for them to finish before sending more.")
        if fn.concurrency_id == VIDEO_ROOM and sum(
                event.concurrency_id == VIDEO_ROOM for event in waiting) >= LIMITS.video_queue_size:
            return (f"{LIMITS.video_queue_size} videos are already waiting (one is analysed at "
                    "a time): please try again in a few minutes.")
        room = [event for event in waiting
                if (event.concurrency_id == PHOTO_ROOM) == (fn.concurrency_id == PHOTO_ROOM)]
        if len(room) >= LIMITS.queue_size:
            return "The server is very busy right now: please try again in a minute."
        return None

    def invalid(self, fn, body) -> str | None:
        """The message a request would get at its turn for values that cannot be used."""
        check = getattr(self.blocks, "check_on_join", None)
        if check is None or not fn.inputs:
            return None
        try:
            check(fn, list(body.data or []))
        except gr.Error as error:
            return error.message
        return None


def _client_of(event) -> str:
    request = getattr(event, "request", None)
    return client_address(request.scope) if request is not None else ""


def make_fair(demo: gr.Blocks) -> None:
    """Give a queued ``demo`` (after ``demo.queue(...)``) the fair queue; Gradio's own limit
    of one size for all is then left to the rooms."""
    demo._queue.__class__ = FairQueue
    demo._queue.max_size = None
