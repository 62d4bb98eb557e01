"""ReportData for known runs: the numbers every view is drawn from."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

import paretext as pt
from paretext.errors import StoreError
from paretext.report import DiffSegment, collect, load, text_diff
from paretext.store import SQLiteRunStore


def test_clean_run_candidates_lineage_and_frontier(clean: Path, golden_classic: pt.Result) -> None:
    data = load(clean)
    assert [c.id for c in data.candidates] == [c.id for c in golden_classic.candidates]
    assert data.instances == tuple(f"ex{i}" for i in range(15, 30))
    assert data.status == "finished" and data.finished
    assert data.stop_reason == golden_classic.stop_reason == "budget exhausted"
    assert data.frontier == tuple(c.id for c in golden_classic.frontier)
    assert data.best == golden_classic.best.id
    for view, c in zip(data.candidates, golden_classic.candidates, strict=True):
        assert (view.parents, view.origin, view.components) == (c.parents, c.origin, c.components)
        assert view.score == pytest.approx(c.score)
        assert view.depth == (0 if not c.parents else 1 + max(
            data.candidate(p).depth for p in c.parents
        ))
    assert any(c.origin == "merge" for c in data.candidates), "the run should merge"
    assert sum(c.is_best for c in data.candidates) == 1 and data.candidate(data.best).is_best
    assert sum(c.on_frontier for c in data.candidates) == len(data.frontier)
    texts = [c.components["system"] for c in data.candidates]
    assert len(set(texts)) == len(texts), "no two candidates share a text"


def test_clean_run_rejects_only_duplicates(clean: Path, golden_classic: pt.Result) -> None:
    data = load(clean)
    rejected = [p for p in data.proposals if not p.accepted]
    assert [(p.iteration, p.reason) for p in rejected] == [
        (p.iteration, p.reason) for p in golden_classic.proposals if not p.accepted
    ]
    verdicts = {p.verdict for p in golden_classic.proposals if not p.accepted}
    assert rejected and verdicts == {pt.Verdict.DUPLICATE_IN_FLIGHT}
    assert all(p.candidate is None for p in rejected)
    assert data.accepted + data.rejected == len(data.proposals) == len(golden_classic.proposals)
    assert data.accepted == len(data.candidates) - 1  # every candidate but the seed
    assert data.failures == ()  # a duplicate is a routine rejection


def test_heat_map_scores_align_with_instances(clean: Path) -> None:
    data = load(clean)
    for c in data.candidates:
        assert len(c.scores) == len(data.instances)
        assert all(s is not None for s in c.scores)
        # The rule world: right exactly on the instances whose rule the text names.
        right = {ex for ex, s in zip(data.instances, c.scores, strict=True) if s == 1.0}
        rules = {int(r) for r in re.findall(r"RULE-(\d+)", c.components["system"])}
        assert right == {ex for ex in data.instances if int(ex[2:]) % 6 in rules}
    top = [max(c.scores[i] or 0.0 for c in data.candidates) for i in range(len(data.instances))]
    contested = [i for i, t in enumerate(top) if any(c.scores[i] != t for c in data.candidates)]
    for c in data.candidates:
        assert c.wins == sum(c.scores[i] == top[i] for i in contested)
    assert data.candidate("c0").wins == 0  # the seed is wrong everywhere


def test_agrees_with_the_engine_summary(clean: Path, golden_classic: pt.Result) -> None:
    store = SQLiteRunStore(clean, create=False)
    try:
        summary = store.info().summary
        data = collect(store)
    finally:
        store.close()
    assert summary is not None
    assert data.best == summary["best"] == golden_classic.best.id
    assert data.rollouts_used == summary["rollouts_used"] == golden_classic.rollouts_used
    assert data.rollouts_limit == summary["rollouts_limit"] == 200
    assert data.accepted == sum(p.accepted for p in golden_classic.proposals)


def test_curve_follows_commits(clean: Path, golden_classic: pt.Result) -> None:
    data = load(clean)
    curve = data.curve
    assert len(curve) == 1 + len(data.proposals)  # the seed, then each proposal's commit
    assert (curve[0].rollouts, curve[0].best_score, curve[0].candidate) == (15, 0.0, "c0")
    assert [p.rollouts for p in curve] == sorted(p.rollouts for p in curve)
    best = [p.best_score for p in curve]
    assert best == sorted(best), "the best score never goes down"
    assert curve[-1].best == golden_classic.best.id
    assert curve[-1].best_score == pytest.approx(golden_classic.best.score)
    assert curve[-1].rollouts == golden_classic.rollouts_used
    assert curve[-1].frontier_size == len(golden_classic.frontier)
    assert [p.iteration for p in curve[1:]] == [p.iteration for p in data.proposals]
    accepted = [p for p in curve if p.accepted]
    assert all(p.candidate is not None for p in accepted)
    assert [p.candidate for p in accepted] == [c.id for c in data.candidates]
    assert all(p.candidate is None for p in curve if not p.accepted)
    assert [p.iteration for p in curve if not p.accepted] == [
        p.iteration for p in golden_classic.proposals if not p.accepted
    ]


def test_changes_carry_diff_and_feedback(clean: Path, golden_classic: pt.Result) -> None:
    data = load(clean)
    assert [c.candidate for c in data.changes] == [c.id for c in golden_classic.candidates[1:]]
    c1 = data.changes[0]
    assert c1.base == "c0" and c1.kind == "mutation"
    (diff,) = c1.diffs
    assert diff.component == "system"
    added = golden_classic.candidate("c1").components["system"].removeprefix("Solve it.")
    assert diff.segments == (DiffSegment("equal", "Solve it."), DiffSegment("insert", added))
    assert len(c1.feedback) == 3
    assert all(
        "RULE-" in f.feedback and f.output == "wrong" and f.score == 0.0 for f in c1.feedback
    )
    assert added.strip() in " ".join(f.feedback for f in c1.feedback)
    first_merge = next(c for c in golden_classic.candidates if c.origin == "merge")
    merge = next(c for c in data.changes if c.candidate == first_merge.id)
    assert merge.kind == "merge" and merge.base == first_merge.parents[0] and merge.feedback == ()
    proposal = next(p for p in golden_classic.proposals if p.candidate_id == first_merge.id)
    assert (merge.parent_gate, merge.child_gate) == (
        proposal.parent_gate_score,
        proposal.child_gate_score,
    )
    assert merge.child_gate is not None and merge.parent_gate is not None
    assert merge.child_gate > merge.parent_gate


def test_best_output_usage_and_no_failures(clean: Path, golden_classic: pt.Result) -> None:
    data = load(clean)
    assert len(data.best_outputs) == 15
    for b in data.best_outputs:
        ex = pt.ExampleId(b.example_id)
        assert b.candidate == golden_classic.best_candidate_per_instance[ex]
        assert b.output == golden_classic.best_outputs[ex]
        assert b.score == golden_classic.candidate(b.candidate).val_scores[ex]
    never = [b for b in data.best_outputs if b.score == 0.0]
    assert all(b.candidate == "c0" and b.output == "wrong" for b in never)
    (usage,) = data.usage
    (calls,) = [u.calls for u in golden_classic.usage]
    assert (usage.role, usage.model, usage.calls) == ("reflection", "scripted-reflector", calls)
    assert usage.prompt_tokens > 0 and usage.cost_usd == 0.0
    assert data.total_cost_usd == 0.0
    assert data.failures == ()


def test_messy_run_lists_every_failure(messy: Path) -> None:
    data = load(messy)
    kinds = {f.kind for f in data.failures}
    assert kinds == {"proposal", "rollout"}
    proposal_failures = [f for f in data.failures if f.kind == "proposal"]
    assert proposal_failures and all("reflection unusable" in f.message for f in proposal_failures)
    rollout_failures = [f for f in data.failures if f.kind == "rollout"]
    assert {f.where.rsplit(" ", 1)[1] for f in rollout_failures} == {"ex17", "ex29"}
    assert all("ValueError: cannot answer" in f.message for f in rollout_failures)
    # Routine rejections (gate, duplicates, perfect parents) are not failures.
    rejected = [p for p in data.proposals if not p.accepted]
    skipped = [p for p in rejected if p.reason.startswith("skipped")]
    duplicate = ("duplicate of", "same text as proposal")
    duplicates = [p for p in rejected if p.reason.startswith(duplicate)]
    assert skipped and not any(f.message.startswith("skipped") for f in data.failures)
    assert duplicates and not any(f.message.startswith(duplicate) for f in data.failures)
    assert data.rejected == len(proposal_failures) + len(skipped) + len(duplicates)


def test_partial_run_has_no_summary(partial: Path, golden_classic: pt.Result) -> None:
    data = load(partial)
    assert data.status == "interrupted" and not data.finished  # nobody writes it any more
    assert data.stop_reason is None and data.seconds is None
    assert len(data.curve) == 4  # the four commits before the process died
    # The clean run's first three proposals, as they were committed.
    first = golden_classic.proposals[:3]
    assert [(p.accepted, p.reason) for p in data.proposals] == [
        (p.accepted, p.reason) for p in first
    ]
    assert [c.id for c in data.candidates] == ["c0", *(p.candidate_id for p in first if p.accepted)]
    assert data.failures == ()
    assert data.rollouts_used > 0 and data.rollouts_limit == 200  # known from the start


def test_run_with_no_candidate_yet(tmp_path: Path) -> None:
    store = SQLiteRunStore(tmp_path / "run")
    store.open_run({"seed": {"system": "x"}}, {"n_val": 3})
    data = collect(store)
    store.close()
    assert data.candidates == () and data.instances == () and data.best is None
    assert data.curve == () and data.best_outputs == () and data.seed_score is None


def test_missing_run_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no run found"):
        load(tmp_path / "nothing")


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("", "new text"),
        ("Solve it.", "Solve it. RULE-1"),
        ("a b c", "a c d"),
        ("same", "same"),
        ("Line one.\nLine two.", "Line one.\nLine 2, changed.\nLine three."),
    ],
)
def test_text_diff_rebuilds_both_texts(before: str, after: str) -> None:
    segments = text_diff(before, after)
    assert "".join(s.text for s in segments if s.op != "insert") == before
    assert "".join(s.text for s in segments if s.op != "delete") == after
    assert all(a.op != b.op for a, b in itertools.pairwise(segments))
