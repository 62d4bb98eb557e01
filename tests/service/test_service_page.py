"""The service's web page in a real headless Chromium: slots, versions with scores, rounds,
and a working link to each round's report; nothing loaded from anywhere else."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
from servers import wait_for
from world import SLOT, event

sys.path.insert(0, str(Path(__file__).parents[1] / "report"))
from test_browser import ARGS, _chromium, _missing, watched_page

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_page_lists_slots_versions_and_rounds(service_factory: Any, request: Any) -> None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed: pip install -e '.[dev]'")
    executable = _chromium()
    service = service_factory(inline_worker=True)
    token = service.tenant("acme")
    with service.client(token) as c:
        assert c.post("/v1/slots", json=SLOT).status_code == 201
        batch = [event(i) for i in range(24)]
        assert c.post("/v1/slots/support/events/batch", json={"events": batch}).status_code == 201
        wait_for(
            lambda: any(
                r["status"] == "promoted"
                for r in c.get("/v1/slots/support/rounds").json()["rounds"]
            ),
            90,
            "a promoted round",
        )
        versions = c.get("/v1/slots/support/versions").json()["versions"]
    artifacts = Path(
        os.environ.get("PARETEXT_TEST_ARTIFACTS", request.config.rootpath / "test-artifacts")
    )
    artifacts.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=ARGS)
        try:
            local = (service.url, "data:", "about:")
            page = watched_page(browser, problems, local, "request elsewhere")
            page.on(
                "response",
                lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None,
            )
            page.goto(f"{service.url}/ui")
            page.fill("#token", "pt_not-a-token")
            page.click("button[type=submit]")
            assert "not valid" in page.locator("[role=alert]").inner_text()
            page.fill("#token", token)
            page.click("button[type=submit]")
            page.wait_for_selector("section.slot")
            assert page.locator("section.slot h2").all_inner_texts() == ["support"]
            rows = page.locator("table.versions tr.version")
            assert rows.count() == len(versions) == 2
            top = rows.nth(0)  # newest first: the promoted version with its held-out score
            assert top.get_attribute("data-version") == "2"
            assert "production" in top.inner_text()
            score = f"{versions[1]['scores']['holdout']:.3f}"
            assert score in top.inner_text()
            assert "previous" in rows.nth(1).inner_text()
            round_row = page.locator("table.rounds tr.round")
            assert round_row.count() == 1 and "promoted" in round_row.inner_text()
            page.screenshot(path=str(artifacts / "service-page.png"), full_page=True)
            round_row.locator("a", has_text="report").click()
            page.wait_for_load_state("load")
            assert page.url.endswith("/v1/rounds/1/report")
            page.wait_for_selector("#lineage .node")
            assert page.locator("#lineage .node").count() >= 2
        finally:
            browser.close()
    assert problems == []
