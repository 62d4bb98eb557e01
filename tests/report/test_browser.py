"""The report in a real headless Chromium: it runs without errors and draws what it should.

Needs the ``playwright`` Python package (in the ``dev`` extra) and a Chromium
binary: Debian's ``chromium`` (``.ci/run`` installs it), or the one named by
``PARETEXT_CHROMIUM``.  Playwright's own browser download is never used.
Skips with the reason when either is missing, except under CI, where a skip
would hide a broken setup, so it fails instead.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NoReturn

import pytest

from paretext.report import load, write_report

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
]


def _missing(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run the browser test: see .ci/run)")
    pytest.skip(reason)


def _chromium() -> str:
    for candidate in (
        os.environ.get("PARETEXT_CHROMIUM"),
        "chromium",
        "chromium-browser",
        "google-chrome",
    ):
        if candidate and (found := shutil.which(candidate)):
            return found
    _missing("no Chromium found: apt-get install chromium, or set PARETEXT_CHROMIUM")


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    base = Path(
        os.environ.get("PARETEXT_TEST_ARTIFACTS", request.config.rootpath / "test-artifacts")
    )
    base.mkdir(parents=True, exist_ok=True)
    return base


def test_report_in_chromium(clean: Path, tmp_path: Path, artifacts: Path) -> None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed: pip install -e '.[dev]'")
    executable = _chromium()
    page_file = write_report(clean, tmp_path / "report.html")
    data = load(clean)
    candidates = len(data.candidates)
    merges = sum(c.origin == "merge" for c in data.candidates)
    assert (candidates, merges, len(data.instances)) == (10, 3, 15)
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on(
                "console",
                lambda m: (
                    problems.append(f"console.{m.type}: {m.text}")
                    if m.type in ("error", "warning")
                    else None
                ),
            )
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on(
                "request",
                lambda r: (
                    problems.append(f"network request: {r.url}")
                    if not r.url.startswith(("file:", "data:", "about:"))
                    else None
                ),
            )
            page.goto(page_file.as_uri())
            page.wait_for_load_state("load")

            assert page.locator("#lineage .node").count() == candidates
            assert page.locator("#lineage .edge.merge").count() == 2 * merges
            assert page.locator("#heatmap .cell").count() == candidates * len(data.instances)
            # A dot per committed candidate; the rejected duplicates draw none.
            assert page.locator("#curve .point").count() == candidates
            assert page.locator("#curve path.curve").count() == 1
            for sid in ("lineage-svg", "heatmap-svg", "curve-svg"):
                box = page.locator(f"#{sid}").bounding_box()
                assert box is not None and box["width"] > 100 and box["height"] > 100, sid

            # The script links the pictures to the diffs: clicking c4 opens its change.
            assert data.candidate("c4").parents == ("c1",) and data.candidate("c4").depth == 2
            assert page.locator("#change-c4").evaluate("d => d.open") is False
            page.locator('#lineage .node[data-id="c4"] .dot').click()
            assert page.locator("#change-c4").evaluate("d => d.open") is True
            assert page.locator('#lineage .node.selected[data-id="c4"]').count() == 1
            assert page.locator("#lineage .edge.lit").count() == 2  # c0 → c1 → c4
            # A merge lights both of its parents' lines: c0 → c1 → c4 → c7 and c0 → c2 → c7.
            page.locator('#lineage .node[data-id="c7"] .dot').click()
            assert page.locator("#lineage .edge.lit").count() == 5

            page.screenshot(path=str(artifacts / "report.png"), full_page=True)
        finally:
            browser.close()
    assert problems == []
    assert (artifacts / "report.png").stat().st_size > 10_000
