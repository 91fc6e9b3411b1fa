"""The screenshot at the top of README.md: the Photo tab with a real result on an example.

    python scripts/readme_screenshot.py            # writes docs/photo_tab.jpg

Starts ``python app.py`` on a free localhost port, clicks the group-photo example in
Debian's Chromium at 1280x900 and saves what the screen shows once its three faces are in.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "photo_tab.jpg"


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from playwright.sync_api import sync_playwright

    from benchmarks.app_server import AppServer
    from benchmarks.live_browser import CHROMIUM, CHROMIUM_ARGS

    with tempfile.TemporaryDirectory() as folder, AppServer(Path(folder) / "app.log") as server, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(90_000)
        page.goto(server.url)
        page.locator(".gallery-item").nth(3).click()  # three_faces.jpg (examples are sorted)
        page.get_by_text("3 faces found").wait_for()
        page.locator(".face-selector").get_by_text("Face 2:").click()
        page.locator(".face-bars").get_by_text("Face 2:").wait_for()
        page.evaluate("window.scrollTo(0, 0)")
        page.wait_for_timeout(1000)
        OUT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(OUT), type="jpeg", quality=80)
        browser.close()
    print(f"{OUT.relative_to(ROOT)}: {OUT.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
