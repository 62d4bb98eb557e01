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
from typing import Any, NoReturn

import pytest

from paretext.report import ReportData, load, write_report

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


def watched_page(browser: Any, problems: list[str], local: tuple[str, ...], label: str) -> Any:
    """A new page that adds to ``problems`` every console error or warning, page error, and
    request to a URL not starting with one of ``local`` (as ``label: URL``)."""
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
        lambda r: problems.append(f"{label}: {r.url}") if not r.url.startswith(local) else None,
    )
    return page


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
            page = watched_page(browser, problems, ("file:", "data:", "about:"), "network request")
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

            # The script links the pictures to the diffs: clicking a grandchild of the seed
            # opens its change and lights its line to the seed.
            child = next(c for c in data.candidates if c.origin == "mutation" and c.depth == 2)
            assert page.locator(f"#change-{child.id}").evaluate("d => d.open") is False
            page.locator(f'#lineage .node[data-id="{child.id}"] .dot').click()
            assert page.locator(f"#change-{child.id}").evaluate("d => d.open") is True
            assert page.locator(f'#lineage .node.selected[data-id="{child.id}"]').count() == 1
            assert page.locator("#lineage .edge.lit").count() == len(ancestry(data, child.id))
            # A merge lights both of its parents' lines.
            merge = next(c for c in data.candidates if c.origin == "merge")
            page.locator(f'#lineage .node[data-id="{merge.id}"] .dot').click()
            assert page.locator("#lineage .edge.lit").count() == len(ancestry(data, merge.id))

            page.screenshot(path=str(artifacts / "report.png"), full_page=True)
        finally:
            browser.close()
    assert problems == []
    assert (artifacts / "report.png").stat().st_size > 10_000


def ancestry(data: ReportData, cid: str) -> set[tuple[str, str]]:
    """Every (parent, child) edge on the lines from ``cid`` up to the seed."""
    edges: set[tuple[str, str]] = set()
    stack = [cid]
    while stack:
        child = stack.pop()
        for parent in data.candidate(child).parents:
            edges.add((parent, child))
            stack.append(parent)
    return edges
