"""Final selection on a held-out validation slice, end to end on the rule world."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

import paretext as pt
from paretext import report
from paretext.api import _examples
from paretext.engine import plan_holdout
from paretext.errors import ConfigError
from paretext.testing import RuleWorld

WORLD = RuleWorld(n=30, categories=6)
_RULE = re.compile(r"RULE-(\d+)")


def held_score(components: Mapping[str, str], held: list[dict[str, Any]]) -> float:
    rules = {int(m) for m in _RULE.findall(components["system"])}
    return sum(ex["category"] in rules for ex in held) / len(held)


def test_the_slice_is_kept_out_of_the_search_and_chooses_the_result(tmp_path: Path) -> None:
    calls: list[str] = []

    def program(candidate: Mapping[str, str], example: Mapping[str, Any]) -> str:
        calls.append(example["id"])
        return WORLD.program(candidate, example)

    kwargs: dict[str, Any] = dict(train=10, budget=150, program=program, holdout=6,
                                  holdout_candidates=3, run=tmp_path / "run",
                                  engine=pt.EngineConfig(seed=1, concurrency=4))
    result = WORLD.optimize(**kwargs)
    selection = result.selection
    assert selection is not None and len(selection.examples) == 6
    held_ids = {str(e).removeprefix("holdout/") for e in selection.examples}
    val = WORLD.examples()[10:]
    plan = plan_holdout(_examples(val, "val"), 6, candidates=3, seed=1)
    assert held_ids == {str(e.data["id"]) for e in plan.held}
    # The search never evaluated a held example; each candidate saw the other 14.
    for c in result.candidates:
        assert len(c.val_scores) == 14 and not held_ids & {str(k) for k in c.val_scores}
    # Known answers: a contender's held-out score is the share of held examples whose
    # category rule its text holds; the returned best has the highest one.
    held = [e for e in val if e["id"] in held_ids]
    assert selection.scores
    for cid, score in selection.scores.items():
        assert score == pytest.approx(held_score(result.candidate(cid).components, held))
    assert selection.chosen == result.best.id
    assert selection.scores[result.best.id] == max(selection.scores.values())
    assert selection.search_best in selection.scores
    assert len(selection.scores) <= 3
    assert result.rollouts_limit == 150 and result.rollouts_used <= 150
    # The stored run says the same: load (and every report reading it) returns the choice.
    stored = pt.load(tmp_path / "run")
    assert stored.selection == selection and stored.best == result.best
    assert (stored.rollouts_used, stored.rollouts_limit) == (
        result.rollouts_used, result.rollouts_limit)
    data = report.load(tmp_path / "run")
    assert data.best == result.best.id and data.selection == selection
    line = data.selection_line
    assert line is not None and line.startswith("chosen on 6 held-out examples: ")
    console = Console(width=400, record=True)
    report.print_summary(data, console)
    assert line in console.export_text()
    assert html.escape(line) in report.render_html(data)
    # Resuming pays for nothing: the held-out rollouts are in the store too.
    calls.clear()
    again = WORLD.optimize(**kwargs)
    assert calls == [] and again.selection == selection and again.best == result.best
    assert again.rollouts_used == result.rollouts_used
    assert pt.load(tmp_path / "run").selection == selection


def test_without_holdout_nothing_changes() -> None:
    result = WORLD.optimize(train=10, budget=120)
    assert result.selection is None
    assert all(len(c.val_scores) == 20 for c in result.candidates)


@pytest.mark.parametrize(
    ("holdout", "message"),
    [(0, "leaves no validation"), (20, "leaves no validation"), (1.5, r"\(0, 1\)"),
     (True, "count or a fraction")],
)
def test_bad_holdouts_are_refused(holdout: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        WORLD.optimize(train=10, budget=120, holdout=holdout)


def test_holdout_needs_a_valset_and_a_budget_that_pays_for_it() -> None:
    data = WORLD.examples()
    with pytest.raises(ConfigError, match="needs a valset"):
        pt.optimize({"system": "Solve it."}, WORLD.program, WORLD.metric, data, None,
                    reflection_lm=pt.testing.rule_reflector(1), budget=100, holdout=4)
    with pytest.raises(ConfigError, match="cannot pay for the held-out selection"):
        WORLD.optimize(train=10, budget=40, holdout=10, holdout_candidates=4)


def test_a_fraction_is_rounded_and_the_draw_depends_on_the_seed() -> None:
    val = _examples(WORLD.examples()[10:], "val")
    a = plan_holdout(val, 0.25, candidates=2, seed=0)
    b = plan_holdout(val, 0.25, candidates=2, seed=0)
    c = plan_holdout(val, 0.25, candidates=2, seed=5)
    assert len(a.held) == 5 and len(a.search) == 15 and a.reserve == 10
    assert [e.id for e in a.held] == [e.id for e in b.held]
    assert {e.id for e in a.held} != {e.id for e in c.held}
