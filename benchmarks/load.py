"""Load: N clients x M requests with gradio_client against `python app.py` on localhost.

    python -m benchmarks.load      # 16 clients x 50 requests (shared), then 16 x 10 (distinct)
    python -m benchmarks.load --clients 4 --requests 5 --scenarios shared

Scenarios: "shared" (every client sends the same photo, as users of one example do) and
"distinct" (each client its own crop of a group photo, so an answer carrying another
request's faces shows up as a wrong answer). Every answer is checked against the answer
the server gave that photo before the load: same faces, same boxes, an annotated image of
the photo's size that downloads whole. Writes benchmarks/figures/load.json: throughput,
latency p50/p95, errors, wrong answers, server memory before and after, what the server
logged, and files left in its folder.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.app_server import AppServer
from benchmarks.figures_io import write_figures

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "benchmarks" / "figures"
GROUP = ROOT / "examples" / "three_faces.jpg"


def scenario_photos(name: str, clients: int, folder: Path) -> list[Path]:
    """The photo each client sends: one shared photo, or a different crop per client."""
    group = Image.open(GROUP)
    if name == "shared":
        path = folder / "shared.jpg"
        group.save(path, quality=92)  # not byte-identical to the example: a user's upload
        return [path] * clients
    photos = []
    for index in range(clients):
        width = group.width - 7 * index  # crops of different sizes: each answer is its own
        path = folder / f"client{index:02d}.jpg"
        group.crop((0, 0, width, group.height)).save(path, quality=92)
        photos.append(path)
    return photos


def answer_of(client, photo: Path):
    from gradio_client import handle_file

    annotated, faces, _ = client.predict(handle_file(str(photo)), "emotion7", api_name="/analyze")
    with Image.open(annotated) as image:
        image.load()  # a truncated download fails here
        size = image.size
    return size, [(face["box"], face["label"]) for face in faces]


def run_client(url: str, photo: Path, expected, requests: int, deadline: float, out: dict):
    from gradio_client import Client

    client = Client(url, verbose=False)
    for _ in range(requests):
        if time.monotonic() > deadline:
            return
        start = time.perf_counter()
        try:
            answer = answer_of(client, photo)
        except Exception as error:  # noqa: BLE001 - every failure is counted and named
            out["errors"].append(f"{type(error).__name__}: {str(error)[:120]}")
            continue
        finally:
            out["latencies"].append(time.perf_counter() - start)
        if answer != expected:
            out["wrong"].append(str(photo.name))


def run_scenario(server: AppServer, name: str, clients: int, requests: int, time_limit: float,
                 folder: Path) -> dict:
    from gradio_client import Client

    photos = scenario_photos(name, clients, folder)
    reference = Client(server.url, verbose=False)
    expected = {photo: answer_of(reference, photo) for photo in set(photos)}
    memory_before = server.memory_mb()
    out = {"errors": [], "wrong": [], "latencies": []}
    deadline = time.monotonic() + time_limit
    threads = [threading.Thread(target=run_client, args=(server.url, photo, expected[photo],
                                                          requests, deadline, out))
               for photo in photos]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    latencies = np.array(out["latencies"]) * 1000
    return {"scenario": name, "clients": clients, "requests_per_client": requests,
            "requests": len(latencies), "errors": len(out["errors"]),
            "error_kinds": sorted(set(out["errors"]))[:10], "wrong_answers": len(out["wrong"]),
            "seconds": round(elapsed, 1), "throughput_rps": round(len(latencies) / elapsed, 2),
            "latency_ms": {"p50": round(float(np.percentile(latencies, 50)), 1),
                           "p95": round(float(np.percentile(latencies, 95)), 1),
                           "max": round(float(latencies.max()), 1)},
            "server_memory_mb": {"before": memory_before["rss_mb"],
                                 **{k: v for k, v in _after(server).items()}}}


def _after(server: AppServer) -> dict:
    memory = server.memory_mb()
    return {"after": memory["rss_mb"], "peak": memory["peak_rss_mb"]}


def files_left(base: Path) -> int:
    """Uploads and results still in the server's folder (the examples are kept on purpose)."""
    examples = {p.name for p in (ROOT / "examples").glob("*.jpg")}
    return sum(1 for p in base.rglob("*") if p.is_file() and p.name not in examples
               and "results" not in p.parts and not p.name.endswith(".lock"))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=50, help="per client (shared photo)")
    parser.add_argument("--distinct-requests", type=int, default=10,
                        help="per client in the distinct-photos scenario")
    parser.add_argument("--scenarios", default="shared,distinct")
    parser.add_argument("--time-limit", type=float, default=900, help="seconds per scenario")
    parser.add_argument("--json", type=Path, default=FIGURES / "load.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        base = folder / "server_cache"
        with AppServer(folder / "app.log", {"EMOTION_CACHE_DIR": str(base)}) as server:
            results = []
            for name in args.scenarios.split(","):
                requests = args.distinct_requests if name == "distinct" else args.requests
                results.append(run_scenario(server, name, args.clients, requests,
                                            args.time_limit, folder))
                print(json.dumps(results[-1]), flush=True)
                write_summary(args.json, results, server, base)  # kept if a later one is cut
    print(f"wrote {args.json}")


def write_summary(path: Path, results: list[dict], server: AppServer, base: Path) -> None:
    log = server.log()
    summary = {"machine": {"cpu_cores": os.cpu_count(),
                           "load_average_1min_at_end": round(os.getloadavg()[0], 1)},
               "scenarios": results,
               "uploads_left_in_server_folder": files_left(base),
               "server_log": {"tracebacks": log.count("Traceback"),
                              "user_error_lines": log.count("user error in")}}
    write_figures(path, summary)


if __name__ == "__main__":
    main()
