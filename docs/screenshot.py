"""Regenerate ``docs/report.png``: the HTML report of a run, shot in headless Chromium.

    python docs/screenshot.py RUN [--out docs/report.png] [--full]
    python docs/screenshot.py RUN --section changes --open c5 --out docs/report-changes.png

Needs the ``playwright`` package (``dev`` extra) and Debian's ``chromium``
(or ``PARETEXT_CHROMIUM``); Playwright's own browser download is not used.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from paretext.report import write_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("report.png"))
    parser.add_argument("--full", action="store_true", help="the whole page, not the first screen")
    parser.add_argument("--section", help="shoot only this section (e.g. changes, failures)")
    parser.add_argument("--open", metavar="ID", help="open this candidate's change first")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=1900)
    args = parser.parse_args()
    chromium = os.environ.get("PARETEXT_CHROMIUM") or shutil.which("chromium")
    if chromium is None:
        raise SystemExit("no Chromium: apt-get install chromium, or set PARETEXT_CHROMIUM")
    with tempfile.TemporaryDirectory() as tmp:
        page_file = write_report(args.run, Path(tmp) / "report.html")
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page(viewport={"width": args.width, "height": args.height})
            anchor = f"#change-{args.open}" if args.open else ""
            page.goto(page_file.as_uri() + anchor)
            if args.section:
                page.add_style_tag(content="nav { position: static; }")  # not over the section
                page.locator(f"#{args.section}").screenshot(path=str(args.out))
            else:
                page.screenshot(path=str(args.out), full_page=args.full)
            browser.close()
    print(args.out)


if __name__ == "__main__":
    main()
