"""Server memory, idle and for the largest photo the app accepts, on a freshly started
server, and its cold start.

    python -m benchmarks.memory

Starts `python app.py`, times it to its first answer (a photo analysed: the models loaded)
and reads its resident memory then, idle (targets: 4 s, 400 MB), and whether TensorFlow was
loaded into it (its shared libraries in /proc/PID/maps: serving runs on LiteRT). Then sends
a photo just under the pixel limit (a JPEG: the format users send) and reads the server's
resident memory before, its peak during, and after (Linux /proc). Writes
benchmarks/figures/memory.json.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from benchmarks.app_server import AppServer
from benchmarks.figures_io import write_figures
from emotion_recognition.core.limits import LIMITS

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "benchmarks" / "figures"
SETTLE_S = 35.0  # one memory trim (serving.TRIM_EVERY_S) later
IDLE_S = 5.0  # the idle server is read this long after its first answer


def tensorflow_loaded(pid: int) -> bool:
    """Whether TensorFlow's shared libraries are mapped into process ``pid``."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return "libtensorflow" in maps or "_pywrap_tensorflow" in maps


def cold_start(server: AppServer, client_class, photo) -> float:
    """Seconds from starting the server to its first answer (a photo analysed)."""
    start = time.perf_counter()
    server.start()
    client_class(server.url, verbose=False).predict(photo, "emotion7", api_name="/analyze")
    return time.perf_counter() - start


def largest_photo(path: Path) -> tuple[int, int]:
    """A 3:2 JPEG of just under LIMITS.photo_pixels: the group photo tiled, with noise."""
    height = int((LIMITS.photo_pixels / 1.5) ** 0.5) - 2
    width = int(height * 1.5)
    group = cv2.imread(str(ROOT / "examples" / "three_faces.jpg"))
    tiled = np.tile(group, (height // group.shape[0] + 1, width // group.shape[1] + 1, 1))
    photo = tiled[:height, :width]
    noise = np.random.default_rng(0).integers(-4, 5, photo.shape, dtype=np.int16)
    photo = np.clip(photo + noise, 0, 255).astype(np.uint8)
    cv2.imwrite(str(path), photo, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return width, height


def main(argv=None) -> None:
    from gradio_client import Client, handle_file

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, default=FIGURES / "memory.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        photo = folder / "largest.jpg"
        width, height = largest_photo(photo)
        jpeg_mb = round(photo.stat().st_size / 2**20, 1)
        server = AppServer(folder / "app.log", {"EMOTION_CACHE_DIR": str(folder / "cache")})
        example = handle_file(str(ROOT / "examples" / "astronaut.jpg"))
        try:
            started_s = cold_start(server, Client, example)  # models loaded, first answer
            time.sleep(IDLE_S)
            idle = server.memory_mb()
            with_tensorflow = tensorflow_loaded(server.process.pid)
            client = Client(server.url, verbose=False)
            before = server.memory_mb()
            _, faces, _ = client.predict(handle_file(str(photo)), "emotion7", api_name="/analyze")
            after = server.memory_mb()
            time.sleep(SETTLE_S)
            settled = server.memory_mb()
        finally:
            server.stop()
    figures = {"cold_start_s": round(started_s, 2),
               "idle_server_mb": idle["rss_mb"],
               "tensorflow_loaded_in_server": with_tensorflow,
               "targets": {"cold_start_s": 4.0, "idle_server_mb": 400},
               "machine": {"cpu_cores": os.cpu_count(), "niceness": os.nice(0),
                           "load_average_1min_at_end": round(os.getloadavg()[0], 1)},
               "photo": {"width": width, "height": height,
                         "megapixels": round(width * height / 1e6, 1),
                         "jpeg_mb": jpeg_mb,
                         "faces_found": len(faces)},
               "working_pixels": LIMITS.working_pixels,
               "server_memory_mb": {"before": before["rss_mb"], "peak": after["peak_rss_mb"],
                                    "after": after["rss_mb"],
                                    f"after_{SETTLE_S:.0f}_s": settled["rss_mb"],
                                    "peak_increase": round(after["peak_rss_mb"] - before["rss_mb"], 1)}}
    print(json.dumps(figures, indent=2))
    write_figures(args.json, figures)


if __name__ == "__main__":
    main()
