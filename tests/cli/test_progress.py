"""The live displays, driven by a real (scripted) run."""

from __future__ import annotations

import io
import json
import re

import pytest
from rich.console import Console

import paretext as pt
from paretext._progress import JsonLinesProgress, Quiet, RichProgress, make_observer
from paretext.testing import RuleWorld, rule_reflector

WORLD = RuleWorld(n=60, categories=20)  # the `golden` fixture's run
DATA = WORLD.examples()


def _run(observer: pt.EngineObserver, reflector: pt.LM | None = None) -> pt.Result:
    return pt.optimize(
        {"system": "Solve it."},
        WORLD.program,
        WORLD.metric,
        DATA[:30],
        DATA[30:],
        reflection_lm=reflector or rule_reflector(1),
        budget=200,
        observer=observer,
    )


def test_rich_progress_shows_bar_status_and_summary(golden: pt.Result) -> None:
    err, out = io.StringIO(), io.StringIO()
    observer = RichProgress(console=Console(file=err, width=120), out=Console(file=out, width=120))
    with observer:
        result = _run(observer)
    accepted = sum(p.accepted for p in result.proposals)
    rejected = len(result.proposals) - accepted
    assert (result.best.id, result.rollouts_used) == (golden.best.id, golden.rollouts_used)
    best = f"{golden.best.score:.3f} ({golden.best.id})"
    bar = err.getvalue()
    assert f"{result.rollouts_used}/200" in bar and f"best {best}" in bar
    assert f"frontier {len(result.frontier)}" in bar
    assert f"{accepted}✓ {rejected}✗" in bar and "tok $0.0000" in bar
    summary = out.getvalue()
    assert f"{best}, seed 0.000" in summary
    frontier = ", ".join(c.id for c in golden.frontier)
    assert re.search(rf"frontier\s+│ {frontier} ", summary), summary
    assert (
        f"{len(result.candidates)}; proposals {accepted} accepted, {rejected} rejected" in summary
    )
    assert golden.stop_reason in summary and "reflection:scripted-reflector" in summary
    paid = sum(u.prompt_tokens + u.completion_tokens for u in result.usage)
    assert observer.last is not None and observer.last.tokens == paid > 0


def test_rich_progress_erases_itself_on_error() -> None:
    err = io.StringIO()
    observer = RichProgress(console=Console(file=err), out=Console(file=io.StringIO()))
    with pytest.raises(RuntimeError), observer:
        observer.on_start(100)
        raise RuntimeError("boom")
    assert err.getvalue().strip() == ""


def test_json_lines_one_object_per_commit(golden: pt.Result) -> None:
    stream = io.StringIO()
    result = _run(JsonLinesProgress(stream=stream))
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    # The seed's commit, then one per proposal, the rejected duplicates included.
    assert [e["event"] for e in events].count("commit") == 1 + len(result.proposals)
    assert events[0] == {"event": "start", "rollouts_limit": 200}
    assert events[-1]["stop_reason"] == golden.stop_reason
    assert events[1]["cost_usd"] == 0.0 and events[1]["tokens"] == 0  # the seed paid no LM call
    assert events[-2]["tokens"] > 0


def test_unknown_cost_is_not_shown_as_free() -> None:
    stream = io.StringIO()
    reflector = rule_reflector(1)
    reflector.cost_per_token = None  # type: ignore[attr-defined]
    with pytest.warns(RuntimeWarning, match="no price known"):
        _run(JsonLinesProgress(stream=stream), reflector)
    last = [json.loads(line) for line in stream.getvalue().splitlines()][-2]
    assert last["cost_usd"] is None


@pytest.mark.parametrize(
    ("mode", "kind"), [("rich", RichProgress), ("json", JsonLinesProgress), ("quiet", Quiet)]
)
def test_make_observer(mode: str, kind: type) -> None:
    assert isinstance(make_observer(mode), kind)  # type: ignore[arg-type]
