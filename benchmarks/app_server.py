"""`python app.py` as a child process on a free localhost port, for benchmarks and tests (the
one way both start it): start it with chosen environment variables, wait for it, upload to
it and call its events over plain HTTP, read its memory, stop it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AppServer:
    """The real app serving the bundled model; a context manager that stops it at exit."""

    def __init__(self, log_path: str | Path, env: dict[str, str] | None = None,
                 start_timeout: float = 180, python_args: list[str] | None = None):
        self.log_path = Path(log_path)
        self.python_args = python_args or [str(ROOT / "app.py")]  # e.g. ["-c", a wrapper]
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self._env = {**os.environ, "GRADIO_SERVER_PORT": str(self.port),
                     "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_ANALYTICS_ENABLED": "False",
                     "EMOTION_MODEL_REPO": "", **(env or {})}
        self._timeout = start_timeout
        self.process: subprocess.Popen | None = None

    def start(self) -> "AppServer":
        """Start it (again, after a stop: the same port, its log appended) and wait for it."""
        with open(self.log_path, "a") as output:
            self.process = subprocess.Popen([sys.executable, *self.python_args], cwd=ROOT,
                                            env=self._env, stdout=output, stderr=subprocess.STDOUT)
        deadline = time.time() + self._timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"app.py exited early:\n{self.log()}")
            try:
                urllib.request.urlopen(self.url, timeout=2)
                return self
            except OSError:
                time.sleep(0.5)
        self.process.kill()
        raise RuntimeError(f"app.py did not answer within {self._timeout:.0f} s:\n{self.log()}")

    def upload(self, data: bytes, name: str) -> str:
        """Upload a file as a browser does: the path the server saved it at."""
        import httpx

        answer = httpx.post(f"{self.url}gradio_api/upload", files={"files": (name, data)},
                            timeout=60)
        answer.raise_for_status()
        return answer.json()[0]

    def call(self, api_name: str, data: list, timeout: float = 120) -> tuple[str, object]:
        """An event by its API name, over Gradio's plain HTTP API (no client-side upload):
        ('complete' | 'error', payload), or ('http', (status, text)) when it is refused."""
        import httpx

        with httpx.Client(base_url=self.url, timeout=timeout) as http:
            answer = http.post(f"gradio_api/call/{api_name}", json={"data": data})
            if answer.status_code != 200:
                return "http", (answer.status_code, answer.text)
            event, kind = answer.json()["event_id"], ""
            with http.stream("GET", f"gradio_api/call/{api_name}/{event}") as stream:
                for line in stream.iter_lines():
                    if line.startswith("event:"):
                        kind = line.split(":", 1)[1].strip()
                    elif line.startswith("data:") and kind in ("complete", "error"):
                        return kind, json.loads(line.split(":", 1)[1])
        return kind, None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def memory_mb(self) -> dict[str, float]:
        """The server's resident memory now and its peak so far (Linux /proc), in MB."""
        fields = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024
        return {"rss_mb": round(fields["VmRSS"], 1), "peak_rss_mb": round(fields["VmHWM"], 1)}

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30) -> int | None:
        """Send ``signum`` and wait; returns the exit code (None if it had to be killed)."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None

    def __enter__(self) -> "AppServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
