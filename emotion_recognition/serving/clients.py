"""Who sends a request, how many requests each sender has in the server at once, and how
much of a shared resource (pixels being analysed) requests hold at once.

One client is one connection address. A request's X-Forwarded-For header names another
address only when the connection comes from a proxy the operator trusts: the addresses in
FORWARDED_ALLOW_IPS (uvicorn's own setting, a comma-separated list of addresses or
networks), or, on a Hugging Face Space where it is not set, the Space's proxy (its
private network, SPACE_PROXY_NETWORKS). Anything else would let one client claim to be
many (uvicorn trusts the header from 127.0.0.1 by default).
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from typing import Iterator

TRUSTED_PROXIES = "FORWARDED_ALLOW_IPS"  # read by uvicorn when the server starts
# A Space's requests reach the app through Hugging Face's proxy, from a private address
SPACE_PROXY_NETWORKS = "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16"


def trusted_proxies(env=os.environ) -> str:
    """The proxies whose X-Forwarded-For is believed: FORWARDED_ALLOW_IPS when set, else
    the Space's proxy on a Hugging Face Space (SPACE_ID set), else none."""
    if env.get(TRUSTED_PROXIES) is not None:
        return env[TRUSTED_PROXIES]
    return SPACE_PROXY_NETWORKS if env.get("SPACE_ID") else ""


def trust_only_known_proxies(env=os.environ) -> str:
    """Tell the web server (uvicorn, before it starts) which proxies to believe; returns
    them ("" for none: every client is its connection's address)."""
    env[TRUSTED_PROXIES] = trusted_proxies(env)
    return env[TRUSTED_PROXIES]


def client_address(scope) -> str:
    """Who sent a request: the client's IP address as the server sees it (behind a trusted
    proxy, the address that proxy forwarded)."""
    client = scope.get("client") if isinstance(scope, dict) else getattr(scope, "client", None)
    host = client[0] if isinstance(client, (tuple, list)) else getattr(client, "host", None)
    return host or "unknown"


class PerClient:
    """How many requests each client has in the server now, capped per client and for all
    clients together, so that a flood from one address is refused (and only it) while
    everyone else goes on, and many addresses together never exceed what the server holds."""

    def __init__(self, per_client: int, in_all: int | None = None):
        self.per_client, self.in_all = per_client, in_all
        self._counts: dict[str, int] = {}
        self._total = 0
        self._lock = threading.Lock()

    def enter(self, client: str) -> str | None:
        """Count one more request of ``client``; if one is over a limit, count nothing and
        say which: "client" or "all"."""
        with self._lock:
            if self._counts.get(client, 0) >= self.per_client:
                return "client"
            if self.in_all is not None and self._total >= self.in_all:
                return "all"
            self._counts[client] = self._counts.get(client, 0) + 1
            self._total += 1
            return None

    def leave(self, client: str) -> None:
        with self._lock:
            self._counts[client] -= 1
            self._total -= 1
            if not self._counts[client]:
                del self._counts[client]


class Share:
    """A resource of ``total`` units (pixels being analysed) that requests hold parts of:
    one that would pass the total waits until enough is given back (one larger than the
    total holds all of it), so memory stays bounded whatever the mix of sizes."""

    def __init__(self, total: int):
        self.total, self.used = total, 0
        self._changed = threading.Condition()

    @contextmanager
    def hold(self, amount: int) -> Iterator[None]:
        amount = min(amount, self.total)
        with self._changed:
            self._changed.wait_for(lambda: self.used + amount <= self.total)
            self.used += amount
        try:
            yield
        finally:
            with self._changed:
                self.used -= amount
                self._changed.notify_all()
