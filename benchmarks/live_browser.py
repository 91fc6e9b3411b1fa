"""Annotated live-webcam frames per second that reach the page, in a real Chromium.

    python -m benchmarks.live_browser --seconds 20 --json benchmarks/figures/live_browser.json
    python -m benchmarks.live_browser --room --json benchmarks/figures/live_browser.json

With ``--room`` the camera shows a real room with nobody in it (the coffee-cup example
photo, 640x480: a textured room costs a face search much more than a plain background),
and the figures go under "empty_room" in the JSON file, the file's other figures kept.

Starts ``python app.py`` on a free localhost port, opens the Live tab in Debian's Chromium
with a fake camera playing a clip of a real face, records for ``--seconds`` after a warm-up
and counts the annotated frames the page shows (the live view's image source, checked on
every animation frame) and receives (every change of it). Also reports the frames the page
sent (POSTs to the live route), the frames the server analysed (the session CSV's rows: one
face, one row per frame), how busy the page's main thread was, the server's CPU use and
the machine's load (other jobs on it slow everything down).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.browser import chromium, open_page
from benchmarks.figures_io import write_figures

ROOT = Path(__file__).resolve().parent.parent
COUNT_FRAMES = """() => {
  window.__shown = 0; window.__received = 0;
  let last = null, watched = null;
  const seen = new MutationObserver(() => window.__received++);
  const tick = () => {
    const img = document.querySelector('.live-view img');
    if (img && img !== watched) { seen.observe(img, {attributeFilter: ['src']}); watched = img; }
    if (img && img.src && img.src !== last) { last = img.src; window.__shown++; }
    requestAnimationFrame(tick);
  };
  tick();
}"""


def measure(url: str, seconds: float, warmup: float, camera: Path, out: Path,
            server_pid: int | None = None) -> dict:
    with chromium(camera) as browser:
        page = open_page(browser, url, camera=True)
        offered = []
        page.on("request", lambda r: offered.append(time.monotonic())
                if r.method == "POST" and "/live/frame" in r.url else None)
        page.get_by_role("tab", name="Live", exact=True).click()
        page.evaluate(COUNT_FRAMES)
        page.get_by_role("button", name="Start the camera").click()
        page.locator(".live-view img").first.wait_for()
        page.wait_for_timeout(int(warmup * 1000))
        counts = "[window.__shown, window.__received]"
        cdp = page.context.new_cdp_session(page)
        cdp.send("Performance.enable")
        busy_before, server_before = _main_thread_s(cdp), _cpu_s(server_pid)
        before, start, load_before = page.evaluate(counts), time.monotonic(), os.getloadavg()[0]
        page.wait_for_timeout(int(seconds * 1000))
        after, elapsed = page.evaluate(counts), time.monotonic() - start
        busy, server_cpu = _main_thread_s(cdp) - busy_before, _cpu_s(server_pid) - server_before
        load_during = os.getloadavg()[0]
        page.get_by_role("button", name="Stop", exact=True).click()
        times = _session_times(page, out)
    shown, received = after[0] - before[0], after[1] - before[1]
    offered_in_window = sum(start <= t <= start + elapsed for t in offered)
    analysed = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else None
    return {"seconds": round(elapsed, 1), "warmup_s": warmup,
            "annotated_frames_shown": shown, "fps_shown": round(shown / elapsed, 1),
            "fps_received_by_page": round(received / elapsed, 1),
            "fps_offered_by_browser": round(offered_in_window / elapsed, 1),
            "fps_analysed_by_server": round(analysed, 1) if analysed else None,
            "page_main_thread_busy_share": round(busy / elapsed, 2),
            "server_cpu_cores_used": round(server_cpu / elapsed, 2) if server_pid else None,
            "load_average_1min": {"before": round(load_before, 1), "end": round(load_during, 1)}}


def _main_thread_s(cdp) -> float:
    """Seconds the page's main thread has spent on tasks so far (Chrome's TaskDuration)."""
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return metrics["TaskDuration"]


def _cpu_s(pid: int | None) -> float:
    """CPU seconds (user + system) a process has used so far (Linux /proc)."""
    if not pid:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _session_times(page, out: Path) -> list[float]:
    """The times of the frames analysed: the session CSV has a row per face, or a "no face"
    row, for each of them."""
    try:
        page.wait_for_timeout(1000)
        page.get_by_role("button", name="Export this session as CSV").click()
        link = page.locator(".session-csv a").first
        link.wait_for(timeout=30_000)
        with page.expect_download() as info:
            link.click()
        info.value.save_as(out / "session.csv")
        rows = csv.DictReader((out / "session.csv").open())
        return sorted({float(row["time_s"]) for row in rows})
    except Exception:  # the figure that matters is fps_shown
        return []


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--url", help="an app already running (default: start python app.py)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--room", action="store_true",
                        help="a real room with nobody in view (figures under empty_room)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import write_y4m
    from test_browser_live import room, write_camera

    from benchmarks.app_server import AppServer

    with tempfile.TemporaryDirectory() as folder:
        camera = (write_camera(Path(folder) / "room.y4m", (), size=(640, 480),
                               background=room((640, 480))) if args.room
                  else write_y4m(Path(folder) / "face.y4m", frames=60))
        if args.url:
            figures = measure(args.url, args.seconds, args.warmup, camera, Path(folder))
        else:
            with AppServer(Path(folder) / "app.log") as server:
                figures = measure(server.url, args.seconds, args.warmup, camera, Path(folder),
                                  server.process.pid)
    figures["cpu_cores"] = os.cpu_count()
    print(json.dumps(figures, indent=2))
    if args.room and args.json:
        kept = json.loads(args.json.read_text()) if args.json.exists() else {}
        figures = {**kept, "empty_room": figures}
    if args.json:
        write_figures(args.json, figures)


if __name__ == "__main__":
    main()
