"""Glue between the web server and the FileStore, free of Gradio: counting uploads as the
server answers them, counting request bodies as they arrive, sweeping while it runs,
cleaning up when it stops (SIGTERM included), and logging user errors as one line each.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import json
import logging
import signal
import threading
import time
from contextlib import asynccontextmanager

from emotion_recognition.storage import FileStore

log = logging.getLogger("emotion_recognition.requests")
UPLOAD_ROUTE = "/gradio_api/upload"
M_MMAP_THRESHOLD = -3  # glibc's mallopt() parameter number
LARGE_BLOCK_BYTES = 4 << 20  # a 640x480 frame (0.9 MB) stays in the heap; a 40 MP photo does not
TRIM_EVERY_S = 30.0  # freed heap pages go back to the system this often


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


def client_address(scope) -> str:
    """Who sent a request: the client's IP address as the server sees it (behind a proxy,
    the forwarded one when the proxy is trusted: uvicorn's FORWARDED_ALLOW_IPS)."""
    client = scope.get("client") if isinstance(scope, dict) else getattr(scope, "client", None)
    host = client[0] if isinstance(client, (tuple, list)) else getattr(client, "host", None)
    return host or "unknown"


class PerClient:
    """How many requests each client has in the server now, capped per client, so that a
    flood from one address is refused (and only it) while everyone else goes on."""

    def __init__(self, per_client: int):
        self.per_client = per_client
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def enter(self, client: str) -> bool:
        """Count one more request of ``client``; False (nothing counted) if it has too many."""
        with self._lock:
            if self._counts.get(client, 0) >= self.per_client:
                return False
            self._counts[client] = self._counts.get(client, 0) + 1
            return True

    def leave(self, client: str) -> None:
        with self._lock:
            self._counts[client] -= 1
            if not self._counts[client]:
                del self._counts[client]


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


def lifespan(store: FileStore):
    """A server lifespan: sweep while serving, delete the store's folder when stopping."""

    @asynccontextmanager
    async def _lifespan(app):
        give_large_blocks_back()
        trim_memory_every(TRIM_EVERY_S)
        store.start_sweeper()
        try:
            yield
        finally:
            store.close()

    return _lifespan


def give_large_blocks_back() -> bool:
    """Blocks of 4 MB and more (a large photo's pixels) go back to the system when freed.

    glibc raises its mmap threshold after each large free, so after one 40-megapixel photo
    the next ones are carved from the heap, which it keeps: a server stayed ~450 MB bigger
    after a single large photo. A fixed threshold ends that. False where libc is not glibc.
    """
    libc = _glibc()
    return bool(libc is not None and libc.mallopt(M_MMAP_THRESHOLD, LARGE_BLOCK_BYTES))


def _glibc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def trim_memory_every(seconds: float) -> threading.Thread | None:
    """A daemon thread that hands freed heap pages back to the system (glibc's
    malloc_trim), so a server's memory settles back after a large photo. None without glibc."""
    libc = _glibc()
    if libc is None:
        return None

    def trim():
        while True:
            time.sleep(seconds)
            libc.malloc_trim(0)

    thread = threading.Thread(target=trim, name="memory-trim", daemon=True)
    thread.start()
    return thread


def clean_up_on_exit(store: FileStore) -> None:
    """Turn SIGTERM (how containers and Spaces stop a server) into the same clean stop as
    Ctrl+C: the server closes, then the store's folder is deleted (also at any exit)."""
    atexit.register(store.close)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def log_user_error(where: str, message: str) -> None:
    """A user's mistake (bad file, over a limit): one line, no traceback."""
    log.info("user error in %s: %s", where, message.replace("\n", " "))
