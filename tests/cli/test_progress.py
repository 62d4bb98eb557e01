"""The live displays, driven by a real (scripted) run."""

from __future__ import annotations

import io
import json
import re

import pytest
from rich.console import Console

import paretext as pt
from paretext._progress import JsonLinesProgress, Quiet, RichProgress, make_observer
from paretext.lm import MeteredLM, UsageTracker
from paretext.testing import RuleWorld, rule_reflector

WORLD = RuleWorld()
DATA = WORLD.examples()


def _run(observer: pt.EngineObserver, tracker: UsageTracker | None = None) -> pt.Result:
    reflector = rule_reflector(1)
    lm = reflector if tracker is None else MeteredLM(reflector, tracker, role="reflection")
    return pt.optimize(
        {"system": "Solve it."},
        WORLD.program,
        WORLD.metric,
        DATA[:15],
        DATA[15:],
        reflection_lm=lm,
        budget=200,
        observer=observer,
    )


def test_rich_progress_shows_bar_status_and_summary() -> None:
    err, out = io.StringIO(), io.StringIO()
    tracker = UsageTracker()
    observer = RichProgress(
        tracker, console=Console(file=err, width=120), out=Console(file=out, width=120)
    )
    with observer:
        result = _run(observer, tracker)
    accepted = sum(p.accepted for p in result.proposals)
    rejected = len(result.proposals) - accepted
    assert (result.best.id, result.rollouts_used, accepted, rejected) == ("c9", 191, 9, 3)
    bar = err.getvalue()
    assert f"{result.rollouts_used}/200" in bar and "best 0.600 (c9)" in bar
    assert f"frontier {len(result.frontier)}" in bar
    assert f"{accepted}✓ {rejected}✗" in bar and "tok $0.0000" in bar
    summary = out.getvalue()
    assert "0.600 (c9), seed 0.000" in summary
    assert re.search(r"frontier\s+│ c8, c9 ", summary), summary
    assert (
        f"{len(result.candidates)}; proposals {accepted} accepted, {rejected} rejected" in summary
    )
    assert "budget exhausted" in summary and "reflection:scripted-reflector" in summary
    assert observer.last is not None and observer.last.tokens == tracker.total_tokens() > 0


def test_rich_progress_erases_itself_on_error() -> None:
    err = io.StringIO()
    observer = RichProgress(console=Console(file=err), out=Console(file=io.StringIO()))
    with pytest.raises(RuntimeError), observer:
        observer.on_start(100)
        raise RuntimeError("boom")
    assert err.getvalue().strip() == ""


def test_json_lines_one_object_per_commit() -> None:
    stream = io.StringIO()
    result = _run(JsonLinesProgress(stream=stream))
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    # The seed's commit, then one per proposal, the rejected duplicates included.
    assert len(result.proposals) == 12
    assert [e["event"] for e in events].count("commit") == 1 + len(result.proposals)
    assert events[0] == {"event": "start", "rollouts_limit": 200}
    assert events[-1]["stop_reason"] == "budget exhausted"
    assert events[1]["cost_usd"] == 0.0 and events[1]["tokens"] == 0  # no tracker: nothing counted


def test_unknown_cost_is_not_shown_as_free() -> None:
    stream = io.StringIO()
    tracker = UsageTracker()
    reflector = MeteredLM(rule_reflector(1), tracker, role="reflection")
    reflector.inner.cost_per_token = None  # type: ignore[attr-defined]
    with pytest.warns(RuntimeWarning, match="no price known"):
        pt.optimize(
            {"system": "Solve it."},
            WORLD.program,
            WORLD.metric,
            DATA[:15],
            DATA[15:],
            reflection_lm=reflector,
            budget=200,
            observer=JsonLinesProgress(tracker, stream=stream),
        )
    last = [json.loads(line) for line in stream.getvalue().splitlines()][-2]
    assert last["cost_usd"] is None


@pytest.mark.parametrize(
    ("mode", "kind"), [("rich", RichProgress), ("json", JsonLinesProgress), ("quiet", Quiet)]
)
def test_make_observer(mode: str, kind: type) -> None:
    assert isinstance(make_observer(mode), kind)  # type: ignore[arg-type]
