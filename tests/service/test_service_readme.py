"""The README's example client runs against a real service and stores what it says."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

README = Path(__file__).parents[2] / "README.md"


def _client_block() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Personalization loop", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1
    return blocks[0]


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_readme_client_runs(service_factory: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    code = _client_block()
    assert len(code.strip().splitlines()) <= 20
    service = service_factory(inline_worker=False)
    token = service.tenant("acme")
    monkeypatch.setenv("PARETEXT_URL", service.url)
    monkeypatch.setenv("PARETEXT_TOKEN", token)
    for _ in range(2):  # a second run finds the slot and only posts again
        namespace: dict[str, Any] = {}
        exec(compile(code, str(README), "exec"), namespace)
        namespace["api"].close()
    with service.client(token) as c:
        events = c.get("/v1/slots/support/events").json()["events"]
        assert [(e["user"], e["version"], e["output"]) for e in events] == [
            ("alice", 1, "It shipped yesterday.")
        ] * 2
        assert c.get("/v1/slots/support").json()["policy"]["personalize"] is True
