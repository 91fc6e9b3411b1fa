"""The server process: sweeping while it runs, memory handed back to the system after large
photos, and a clean stop (SIGTERM included) that deletes the store's folder."""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import signal
import threading
import time
from contextlib import asynccontextmanager

from emotion_recognition.serving.store import FileStore

M_MMAP_THRESHOLD = -3  # glibc's mallopt() parameter number
LARGE_BLOCK_BYTES = 4 << 20  # a 640x480 frame (0.9 MB) stays in the heap; a 40 MP photo does not
TRIM_EVERY_S = 30.0  # freed heap pages go back to the system this often


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
