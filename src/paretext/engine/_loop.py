"""The scheduler: plan → execute (concurrently) → commit (in order).

Proposal *i* is planned, synchronously, right after proposal
*i - proposals_in_flight* commits, from committed state only, with an RNG
seeded by ``(seed, i)``.  Commits happen in iteration order.  So the same seed
and the same LM answers give the same result whatever the timing, and a
resumed run (which replays recorded rollouts and LM calls) retraces the
original exactly.  What the engine knows of the outside world is its
:class:`RunSpec`; the store is written by the :class:`StoreRecorder` observer.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from .._ids import content_hash
from .._types import Proposal, Result
from .._verdict import StopReason
from ..errors import EvaluationsFailed
from ..propose import MergeProposer, ReflectionProposer
from ._budget import Ledger
from ._evaluator import Evaluator
from ._executor import InProcessExecutor
from ._observer import EngineObserver
from ._planner import Plan, Planner
from ._proposals import ProposalRunner
from ._recorder import StoreRecorder
from ._sampling import EpochSampler
from ._selection import candidate_selector, component_selector
from ._signals import stop_on_signals
from ._spec import RunSpec
from ._state import CommittedState, Outcome, RunSnapshot
from ._stop import Stop, StopPolicy

__all__ = ["Engine"]

LM_FAILURE_LIMIT = 5


class Engine:
    def __init__(self, spec: RunSpec, observer: EngineObserver | None = None) -> None:
        self.spec = spec
        self._observers = [StoreRecorder(spec.store), *([observer] if observer else [])]
        cfg, val_ids = spec.engine, tuple(e.id for e in spec.val)
        limiter = asyncio.Semaphore(cfg.concurrency)
        self._examples = {e.id: e for e in (*spec.train, *spec.val)}
        self._executor = spec.executor or InProcessExecutor()
        self.evaluator = Evaluator(
            self._executor, spec.store, limiter, self._charged, timeout=cfg.rollout_timeout
        )
        self.ledger = Ledger(spec.budget.rollout_limit)
        max_merges = spec.merge.max_merges if spec.merge.enabled else 0
        self.state = CommittedState(cfg.frontier, val_ids, max_merges)
        proposer = spec.proposer or ReflectionProposer(spec.reflection)
        proposer.bind(spec.reflection_lm, limiter)
        merger = MergeProposer(spec.reflection_lm, limiter, temperature=spec.reflection.temperature)
        self._runner = ProposalRunner(
            self.evaluator, proposer, merger, self._examples, val_ids,
            perfect_score=cfg.perfect_score, skip_perfect=spec.reflection.skip_perfect,
        )
        minibatch = spec.reflection.minibatch_size
        self.planner = Planner(
            self.state,
            self.ledger,
            sampler=EpochSampler([e.id for e in spec.train], minibatch, cfg.seed),
            selector=candidate_selector(cfg.selector),
            components=component_selector(spec.reflection.components),
            merge_gate_size=spec.merge.gate_size,
            seed=cfg.seed,
            reads_parent=proposer.reads_rollouts,
            minibatches=spec.reflection.minibatches_per_proposal if proposer.uses_lm else 1,
        )
        # Proposals in a row that spend no rollout (skipped, unusable reflection) before giving up:
        # without this, a run whose minibatches are all cached could propose forever for free.
        self.stop_policy = StopPolicy(
            spec.stop, spec.budget, perfect_score=cfg.perfect_score, search_mode=spec.search_mode,
            idle_limit=max(10, 2 * len(spec.train) // minibatch), tracker=spec.tracker,
        )
        self._started = time.monotonic()
        self._task: asyncio.Task[Any] | None = None
        self._aborted = False  # a second stop request cancelled the run
        self._in_flight = 0

    # -- public ------------------------------------------------------------------
    async def run(self) -> Result:
        self._started = time.monotonic()
        self.stop_policy.start_clock()
        self._task = asyncio.current_task()
        await self._executor.start(self.spec.program, self.spec.metric, self._examples)
        self._notify(lambda o: o.on_start(self.ledger.limit))
        try:
            with stop_on_signals(self.spec.stop.handle_signals, self._on_signal):
                await self._commit_seed()
                stop = await self._search()
        except asyncio.CancelledError:
            self._notify(lambda o: o.on_abort("interrupted", "cancelled; resume to continue"))
            if self._aborted:  # a second Ctrl-C: the caller sees what it pressed
                raise KeyboardInterrupt("aborted by a second stop request") from None
            raise
        except BaseException as exc:
            error = f"{type(exc).__name__}: {exc}"
            self._notify(lambda o: o.on_abort("failed", error))
            raise
        finally:
            await self._executor.aclose()
        status = "interrupted" if stop.reason == StopReason.SIGNAL else "finished"
        result = self.snapshot(status=status, stop=stop).result(self.spec.store.location)
        self._notify(lambda o: o.on_finish(result))
        return result

    def request_stop(self, reason: str, kind: StopReason = StopReason.REQUESTED) -> None:
        """Stop planning new proposals; those in flight finish and commit.

        A second request cancels the run at once; everything recorded so far is kept
        and a later run with the same path resumes from it.
        """
        if self.stop_policy.request(Stop(kind, reason)):
            self._abort()

    def snapshot(self, *, status: str = "running", stop: Stop | None = None) -> RunSnapshot:
        tracker = self.spec.tracker
        return self.state.snapshot(
            rollouts_spent=self.ledger.spent,
            rollouts_reserved=self.ledger.reserved,
            rollouts_limit=self.ledger.limit,
            rollouts_running=self.evaluator.running,
            usage=tracker.totals(),
            paid=tracker.totals(paid=True),
            elapsed_s=time.monotonic() - self._started,
            status=status,
            stopped=None if stop is None else stop.reason,
            stop_reason=None if stop is None else stop.message,
        )

    # -- the loop ----------------------------------------------------------------
    async def _commit_seed(self) -> None:
        """Validate the seed; the first rollouts probe it, so a program that fails on every
        example stops the run before the rest is spent (the rest starts at the first success).
        """
        components, val_ids = dict(self.spec.seed_components), self.state.val_ids
        seed_hash = content_hash(components)
        reservation = self.ledger.reserve(len(val_ids))
        probe = val_ids[: max(1, min(self.spec.engine.fail_fast_after, len(val_ids)))]
        launch = self.evaluator.launch
        first = launch(components, seed_hash, probe, reservation)
        try:
            for done in asyncio.as_completed(first):
                if not (await done).failed:
                    break
            else:
                errors = [t.result().error or "" for t in first]
                raise EvaluationsFailed(
                    f"all of the first {len(first)} evaluations of the seed failed; stopping "
                    f"before spending the budget. First error: {errors[0]}",
                    errors=errors,
                )
        except BaseException:
            for task in first:
                task.cancel()
            raise
        rest = launch(components, seed_hash, val_ids[len(probe) :], reservation)
        rollouts = {(seed_hash, r.example_id): r for r in await asyncio.gather(*first, *rest)}
        reservation.release()
        self.state.apply_seed(components, rollouts)
        self._committed(None)

    async def _search(self) -> Stop:
        in_flight: deque[tuple[Plan, asyncio.Task[Outcome]]] = deque()
        planned, stop = 0, None
        try:
            while True:
                while stop is None and len(in_flight) < self.spec.engine.proposals_in_flight:
                    stop = self.stop_policy.check(self.state, planned)
                    if stop is not None:
                        break
                    plan = self.planner.plan(planned, [p.iteration for p, _ in in_flight])
                    if plan is None:
                        break
                    in_flight.append((plan, self._runner.launch(plan)))
                    planned += 1
                self._in_flight = len(in_flight)
                if not in_flight:
                    return stop or Stop(StopReason.BUDGET, "budget exhausted")
                plan, task = in_flight[0]
                outcome = await task
                in_flight.popleft()
                self._in_flight = len(in_flight)
                plan.reservation.release()
                self._committed(self.state.apply(outcome))
        finally:
            for _, task in in_flight:
                task.cancel()
            for _, task in in_flight:
                with contextlib.suppress(BaseException):
                    await task

    def _committed(self, proposal: Proposal | None) -> None:
        snapshot = self.snapshot()
        self._notify(lambda o: o.on_commit(snapshot, proposal))
        streak = self.state.lm_failure_streak
        if proposal is not None and streak >= LM_FAILURE_LIMIT:
            raise EvaluationsFailed(
                f"the reflection LM failed {streak} times in a row; last error: {proposal.reason}",
                errors=[proposal.reason],
            )

    def _charged(self) -> None:
        if self.state.order:
            snapshot = self.snapshot()
            self._notify(lambda o: o.on_rollouts(snapshot))

    def _on_signal(self, sig: signal.Signals) -> None:
        """The first signal stops planning and says what is left; a second one aborts."""
        reason = f"stopped by {sig.name}"
        if self.stop_policy.request(Stop(StopReason.SIGNAL, reason)):
            self._abort()
            return
        in_flight = self._in_flight
        self._notify(lambda o: o.on_stop_requested(reason, in_flight))

    def _abort(self) -> None:
        if self._task is not None:
            self._aborted = True
            self._task.cancel()

    def _notify(self, call: Callable[[EngineObserver], None]) -> None:
        for observer in self._observers:
            call(observer)
