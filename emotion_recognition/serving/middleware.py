"""ASGI middleware between the web server and the app, free of Gradio: every request body
counted as it arrives (BodyLimit), a client's mid-answer error logged as one line
(QuietClientErrors), every upload counted as the upload route answers (UploadCounter).
"""

from __future__ import annotations

import json

from emotion_recognition.serving.log import log_user_error
from emotion_recognition.serving.store import FileStore

UPLOAD_ROUTE = "/gradio_api/upload"


class BodyTooLarge(Exception):
    """Raised into the app when a request's body passes its limit (BodyLimit answers 413)."""


class BodyLimit:
    """ASGI middleware: every request's body is counted as it arrives, against the limit of
    its route (the longest matching path suffix in ``limits``, else ``default``). A declared
    Content-Length over it is refused before a byte is read; a body (chunked ones too) is
    refused as soon as the count passes it, whatever the app was doing with it. Every 413
    closes the connection, so the rest of a refused body is not read."""

    def __init__(self, app, limits: dict[str, tuple[int, str]], default: tuple[int, str]):
        self.app, self.limits, self.default = app, limits, default

    def limit_for(self, path: str) -> tuple[int, str]:
        """(bytes, the message of a refusal) for a request path."""
        matches = [suffix for suffix in self.limits if path.rstrip("/").endswith(suffix)]
        return self.limits[max(matches, key=len)] if matches else self.default

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, message = self.limit_for(scope.get("path", ""))
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"").decode("latin-1").strip()
        if declared and (not declared.isdigit() or int(declared) > limit):
            await _refuse(send, message, scope)
            return
        counted, over, started = 0, False, False

        async def counting_receive():
            nonlocal counted, over
            if over:
                raise BodyTooLarge(message)
            event = await receive()
            if event["type"] == "http.request":
                counted += len(event.get("body", b""))
                if counted > limit:
                    over = True
                    raise BodyTooLarge(message)
            return event

        async def guarded_send(event):
            nonlocal started
            if over:  # the app's own answer to a cut body is replaced by the 413
                return
            if event["type"] == "http.response.start":
                started = True
                if event["status"] == 413:  # the app's own refusal (Gradio's upload size)
                    event = {**event, "headers": [*event.get("headers", []),
                                                  (b"connection", b"close")]}
            await send(event)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except BodyTooLarge:
            pass
        if over and not started:
            await _refuse(send, message, scope)


async def _refuse(send, message: str, scope) -> None:
    log_user_error(f"request to {scope.get('path', '')}", message)
    body = message.encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class QuietClientErrors:
    """ASGI middleware: a client's error raised after its answer began (Gradio's event
    stream raises a 404 mid-stream for an event id it does not know) is one log line, not
    a traceback: the client already has its answer, and nothing is wrong with the server."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        started = finished = False

        async def tracking_send(event):
            nonlocal started, finished
            started = started or event["type"] == "http.response.start"
            finished = finished or (event["type"] == "http.response.body"
                                    and not event.get("more_body"))
            await send(event)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as error:
            status = _client_error_status(error)
            if scope["type"] != "http" or status is None or not started:
                raise
            log_user_error(f"request to {scope.get('path', '')}", f"answered {status}")
            if not finished:  # end the answer the client already has
                await send({"type": "http.response.body", "body": b"", "more_body": False})


def _client_error_status(error: BaseException) -> int | None:
    """The 4xx status an HTTP exception (or the one it wraps) carries, else None."""
    for candidate in (error, error.__cause__, error.__context__):
        status = getattr(candidate, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500:
            return status
    return None


class UploadCounter:
    """ASGI middleware: tells the store about every file the upload route saved.

    It reads the route's JSON answer (the saved paths) and counts them before the answer
    goes out, so a client can never start its request before its upload is counted.
    """

    def __init__(self, app, store: FileStore):
        self.app = app
        self.store = store

    async def __call__(self, scope, receive, send):
        if (scope["type"] != "http" or scope.get("method") != "POST"
                or not scope.get("path", "").endswith(UPLOAD_ROUTE)):
            await self.app(scope, receive, send)
            return
        status, body = 0, []

        async def counting_send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))
                if not message.get("more_body") and status == 200:
                    self._count(b"".join(body))
            await send(message)

        await self.app(scope, receive, counting_send)

    def _count(self, body: bytes) -> None:
        try:
            paths = json.loads(body)
        except ValueError:
            return
        if isinstance(paths, list):
            self.store.note_uploads(p for p in paths if isinstance(p, str))
