"""Who sends a request, and how many requests each sender has in the server at once."""

from __future__ import annotations

import threading


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
