"""ASGI middleware between the web server and the app, free of Gradio: every request body
counted as it arrives (BodyLimit), a client's mid-answer error logged as one line
(QuietClientErrors), every upload counted as the upload route answers (UploadCounter);
and the answer to a body that is not what its route takes (unreadable_body).
"""

from __future__ import annotations

import json

from python_multipart.exceptions import MultipartParseError
from starlette.requests import Request
from starlette.responses import JSONResponse

from emotion_recognition.serving.clients import client_address
from emotion_recognition.serving.log import log_user_error
from emotion_recognition.serving.store import FileStore

UPLOAD_ROUTE = "/gradio_api/upload"


class BodyTooLarge(MultipartParseError):
    """Raised into the app when a request's body passes its limit (BodyLimit answers 413),
    or an upload's client leaves before its end. (A multipart parse error: the upload
    route's parser then deletes the part of the file it had written.)"""


class BodyLimit:
    """ASGI middleware: every request's body is counted as it arrives, against the limit of
    its route (the longest matching path suffix in ``limits``, else ``default``), and an
    upload's also against the store's budget for unanalysed uploads (store.UploadBudget).
    A declared Content-Length over the limit is refused before a byte is read; a body
    (chunked ones too) is refused as soon as the count passes it, whatever the app was
    doing with it. Every 413 closes the connection, so the rest of a refused body is not
    read."""

    def __init__(self, app, limits: dict[str, tuple[int, str]], default: tuple[int, str],
                 store: FileStore | None = None):
        self.app, self.limits, self.default, self.store = app, limits, default, store

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
        budget = self.store if _is_upload(scope) else None
        client = client_address(scope)
        counted, over, started, whole = 0, False, False, False

        async def counting_receive():
            nonlocal counted, over, message, whole
            if over:
                raise BodyTooLarge(message)
            event = await receive()
            if event["type"] == "http.disconnect" and budget and not whole:  # cut short
                over, message = True, "The upload was cut short."
                raise BodyTooLarge(message)
            if event["type"] == "http.request":
                whole = not event.get("more_body", False)
                size = len(event.get("body", b""))
                refusal = budget.upload_arriving(client, size) if budget and size else None
                counted += size if refusal is None else 0
                if counted > limit or refusal is not None:
                    over, message = True, refusal or message
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
        finally:
            if budget:  # stored (and counted as held by UploadCounter) or refused
                budget.upload_arrived(client, counted)
        if over and not started:
            await _refuse(send, message, scope)


def _is_upload(scope) -> bool:
    return scope.get("method") == "POST" and scope.get("path", "").endswith(UPLOAD_ROUTE)


async def _refuse(send, message: str, scope) -> None:
    log_user_error(f"request to {scope.get('path', '')}", message)
    body = message.encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def unreadable_body(request: Request, error: Exception) -> JSONResponse:
    """A body that is not the JSON its route takes (FastAPI's RequestValidationError): a
    plain sentence, not the validator's report, and one log line."""
    message = ("This request's body is not what this endpoint takes: see \"Use via API\" "
               "at the foot of the page for the JSON each endpoint expects.")
    log_user_error(f"request to {request.url.path}", "unreadable body")
    return JSONResponse({"detail": message}, status_code=422)


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
        if scope["type"] != "http" or not _is_upload(scope):
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
                    self._count(b"".join(body), client_address(scope))
            await send(message)

        await self.app(scope, receive, counting_send)

    def _count(self, body: bytes, client: str) -> None:
        try:
            paths = json.loads(body)
        except ValueError:
            return
        if isinstance(paths, list):
            self.store.note_uploads((p for p in paths if isinstance(p, str)), client)
