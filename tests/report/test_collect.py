"""ReportData for known runs: the numbers every view is drawn from."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from paretext.errors import StoreError
from paretext.report import DiffSegment, collect, load, text_diff
from paretext.store import SQLiteRunStore


def test_clean_run_candidates_lineage_and_frontier(clean: Path) -> None:
    data = load(clean)
    assert [c.id for c in data.candidates] == [f"c{i}" for i in range(10)]
    assert data.instances == tuple(f"ex{i}" for i in range(15, 30))
    assert data.status == "finished" and data.finished
    assert data.stop_reason == "budget exhausted"
    assert data.frontier == ("c8", "c9")
    assert data.best == "c9"
    by_id = {c.id: c for c in data.candidates}
    assert by_id["c0"].parents == () and by_id["c0"].origin == "seed" and by_id["c0"].depth == 0
    assert by_id["c4"].parents == ("c1",) and by_id["c4"].depth == 2
    merges = [c for c in data.candidates if c.origin == "merge"]
    assert [(c.id, c.parents) for c in merges] == [
        ("c5", ("c1", "c2")),
        ("c6", ("c2", "c3")),
        ("c7", ("c2", "c4")),
    ]
    assert by_id["c9"].parents == ("c7",)
    assert by_id["c9"].is_best and by_id["c9"].on_frontier and by_id["c9"].depth == 4
    assert sum(c.is_best for c in data.candidates) == 1
    assert sum(c.on_frontier for c in data.candidates) == len(data.frontier)
    assert by_id["c9"].score == pytest.approx(9 / 15)
    assert by_id["c9"].components == {"system": "Solve it. RULE-0 RULE-1 RULE-2 RULE-3"}
    texts = [c.components["system"] for c in data.candidates]
    assert len(set(texts)) == len(texts), "no two candidates share a text"


def test_clean_run_rejects_only_duplicates(clean: Path) -> None:
    data = load(clean)
    rejected = [p for p in data.proposals if not p.accepted]
    assert [(p.iteration, p.reason) for p in rejected] == [
        (2, "same text as proposal 0, still in flight"),
        (6, "same text as proposal 4, still in flight"),
        (9, "same text as proposal 8, still in flight"),
    ]
    assert all(p.candidate is None for p in rejected)
    assert (data.accepted, data.rejected) == (9, 3)
    assert data.accepted + data.rejected == len(data.proposals) == 12
    assert data.accepted == len(data.candidates) - 1  # every candidate but the seed
    assert data.failures == ()  # a duplicate is a routine rejection


def test_heat_map_scores_align_with_instances(clean: Path) -> None:
    data = load(clean)
    for c in data.candidates:
        assert len(c.scores) == len(data.instances)
        assert all(s is not None for s in c.scores)
    c2 = data.candidate("c2")  # RULE-3: right exactly on the category-3 instances
    right = {ex for ex, s in zip(data.instances, c2.scores, strict=True) if s == 1.0}
    assert right == {"ex15", "ex21", "ex27"}
    assert data.candidate("c0").wins == 0  # the seed is wrong everywhere
    assert data.candidate("c7").wins == 7


def test_agrees_with_the_engine_summary(clean: Path) -> None:
    store = SQLiteRunStore(clean, create=False)
    try:
        summary = store.info().summary
        data = collect(store)
    finally:
        store.close()
    assert summary is not None
    assert list(data.frontier) == summary["frontier"]
    assert data.best == summary["best"]
    assert data.rollouts_used == summary["rollouts_used"] == 191
    assert data.rollouts_limit == summary["rollouts_limit"] == 200
    assert data.accepted == summary["accepted"] == 9


def test_curve_follows_commits(clean: Path) -> None:
    data = load(clean)
    curve = data.curve
    assert len(curve) == 1 + len(data.proposals) == 13  # the seed, then each proposal's commit
    assert (curve[0].rollouts, curve[0].best_score, curve[0].candidate) == (15, 0.0, "c0")
    assert [p.rollouts for p in curve] == sorted(p.rollouts for p in curve)
    best = [p.best_score for p in curve]
    assert best == sorted(best), "the best score never goes down"
    assert curve[-1].best == "c9" and curve[-1].best_score == pytest.approx(9 / 15)
    assert curve[-1].rollouts == 191 and curve[-1].frontier_size == 2
    assert [p.iteration for p in curve[1:]] == [p.iteration for p in data.proposals]
    accepted = [p for p in curve if p.accepted]
    assert all(p.candidate is not None for p in accepted)
    assert [p.candidate for p in accepted] == [c.id for c in data.candidates]
    assert all(p.candidate is None for p in curve if not p.accepted)
    assert [p.iteration for p in curve if not p.accepted] == [2, 6, 9]


def test_changes_carry_diff_and_feedback(clean: Path) -> None:
    data = load(clean)
    assert [c.candidate for c in data.changes] == [f"c{i}" for i in range(1, 10)]
    c1 = data.changes[0]
    assert c1.base == "c0" and c1.kind == "mutation"
    (diff,) = c1.diffs
    assert diff.component == "system"
    assert diff.segments == (DiffSegment("equal", "Solve it."), DiffSegment("insert", " RULE-1"))
    assert len(c1.feedback) == 3
    assert all(
        "RULE-" in f.feedback and f.output == "wrong" and f.score == 0.0 for f in c1.feedback
    )
    assert "RULE-1" in " ".join(f.feedback for f in c1.feedback)
    merge = next(c for c in data.changes if c.candidate == "c7")
    assert merge.kind == "merge" and merge.base == "c2" and merge.feedback == ()
    assert merge.parent_gate == 3.0 and merge.child_gate == 5.0


def test_best_output_usage_and_no_failures(clean: Path) -> None:
    data = load(clean)
    assert len(data.best_outputs) == 15
    ex15 = data.best_outputs[0]
    assert (ex15.example_id, ex15.candidate, ex15.score, ex15.output) == (
        "ex15",
        "c2",
        1.0,
        "right",
    )
    never = [b for b in data.best_outputs if b.score == 0.0]
    assert all(b.candidate == "c0" and b.output == "wrong" for b in never)
    (usage,) = data.usage
    assert (usage.role, usage.model, usage.calls) == ("reflection", "scripted-reflector", 12)
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


def test_partial_run_has_no_summary(partial: Path) -> None:
    data = load(partial)
    assert data.status == "interrupted" and not data.finished  # nobody writes it any more
    assert data.stop_reason is None and data.seconds is None
    assert len(data.curve) == 4  # the four commits before the process died
    # The clean run's first three proposals: c1, c2, then c1's text again, dropped while
    # proposal 0 was still evaluating it.
    assert [c.id for c in data.candidates] == ["c0", "c1", "c2"]
    assert [(p.accepted, p.reason) for p in data.proposals] == [
        (True, "accepted"),
        (True, "accepted"),
        (False, "same text as proposal 0, still in flight"),
    ]
    assert data.failures == ()
    assert data.rollouts_used > 0 and data.rollouts_limit is None


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
