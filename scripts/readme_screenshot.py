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
    from benchmarks.app_server import AppServer
    from benchmarks.browser import chromium, open_page

    with tempfile.TemporaryDirectory() as folder, AppServer(Path(folder) / "app.log") as server, \
            chromium() as browser:
        page = open_page(browser, server.url)
        page.locator(".gallery-item").nth(3).click()  # three_faces.jpg (examples are sorted)
        page.get_by_text("3 faces found").wait_for()
        page.locator(".face-selector").get_by_text("Face 2:").click()
        page.locator(".face-bars").get_by_text("Face 2:").wait_for()
        page.evaluate("window.scrollTo(0, 0)")
        page.wait_for_timeout(1000)
        OUT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(OUT), type="jpeg", quality=80)
    print(f"{OUT.relative_to(ROOT)}: {OUT.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
