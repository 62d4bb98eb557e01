"""The contract every RunStore backend must meet; run against each by a parametrized fixture."""

from __future__ import annotations

from paretext import Candidate, CandidateId, ExampleId, Proposal, Rollout, TraceStep, Verdict
from paretext.lm import ChatRequest, LMResponse, Message, Usage
from paretext.store import RunStore


def rollout(h: str = "h1", ex: str = "e1", score: float = 0.5) -> Rollout:
    return Rollout(
        h,
        ExampleId(ex),
        {"answer": [1, 2]},
        (TraceStep("system", "in", "out", "s1"),),
        score,
        "because",
        {"len": 0.3},
    )


def candidate(cid: str = "c0", parents: tuple[str, ...] = ()) -> Candidate:
    return Candidate(
        CandidateId(cid),
        {"system": "text"},
        tuple(CandidateId(p) for p in parents),
        "seed" if not parents else "mutation",
        None if not parents else 0,
        () if not parents else ("system",),
        {ExampleId("e1"): 1.0},
        {"len": 0.5},
    )


def proposal(iteration: int = 0, accepted: bool = True) -> Proposal:
    return Proposal(
        iteration,
        "mutation",
        (CandidateId("c0"),),
        ("system",),
        {"system": "new"},
        (ExampleId("e1"),),
        0.0,
        1.0,
        Verdict.ACCEPTED if accepted else Verdict.GATE_REJECTED,
        "accepted" if accepted else "gate",
        CandidateId("c1") if accepted else None,
    )


class StoreConformance:
    """Subclass with a ``store`` fixture to check a backend."""

    def test_new_run_then_resume_with_same_fingerprint(self, store: RunStore) -> None:
        assert store.open_run({"a": 1}, {"m": 2}) is False
        assert store.open_run({"a": 1}, {"m": 2}) is True
        info = store.info()
        assert (
            dict(info.fingerprint) == {"a": 1} and info.status == "running" and info.summary is None
        )

    def test_different_fingerprint_is_refused_naming_the_difference(self, store: RunStore) -> None:
        import pytest

        from paretext.errors import StoreError

        store.open_run({"config": {"seed": 1}}, {})
        with pytest.raises(StoreError, match=r"config\.seed: stored 1, given 2"):
            store.open_run({"config": {"seed": 2}}, {})

    def test_finish_records_summary(self, store: RunStore) -> None:
        store.open_run({}, {})
        store.finish({"best": "c3"})
        assert store.info().status == "finished" and store.info().summary == {"best": "c3"}

    def test_rollouts_round_trip_and_first_write_wins(self, store: RunStore) -> None:
        r = rollout()
        store.put_rollout(r)
        store.put_rollout(rollout(score=0.9))
        got = store.get_rollout("h1", ExampleId("e1"))
        assert got == r
        assert store.get_rollout("h1", ExampleId("nope")) is None
        assert store.rollouts() == [r]

    def test_lm_responses_round_trip(self, store: RunStore) -> None:
        req = ChatRequest((Message("user", "hi"),), temperature=0.0)
        resp = LMResponse("hello", "m", Usage(3, 2), "stop", 0.001)
        store.put_lm_response("k", req, resp, role="task")
        store.put_lm_response("k", req, LMResponse("other", "m"), role="task")
        assert store.get_lm_response("k") == resp
        assert store.get_lm_response("missing") is None
        [call] = store.lm_calls()
        assert call.role == "task" and call.request["messages"] == [
            {"role": "user", "content": "hi"}
        ]

    def test_candidates_and_proposals_keep_order_and_ignore_replays(self, store: RunStore) -> None:
        c0, c1 = candidate("c0"), candidate("c1", ("c0",))
        for c in (c0, c1, c0):
            store.put_candidate(c)
        assert store.candidates() == [c0, c1]
        p1, p0 = proposal(1, False), proposal(0)
        for p in (p1, p0, p1):
            store.put_proposal(p)
        assert store.proposals() == [p0, p1]

    def test_events_are_append_only_by_sequence(self, store: RunStore) -> None:
        store.append_event(1, "b", {"x": 2})
        store.append_event(0, "a", {"x": 1})
        store.append_event(0, "a", {"x": 99})
        assert [(e.seq, e.kind, dict(e.payload)) for e in store.events()] == [
            (0, "a", {"x": 1}),
            (1, "b", {"x": 2}),
        ]
