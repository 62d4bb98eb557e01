"""The background loop: find slots with enough new feedback, run a round, finish it.

Any number of workers (inside API processes or ``paretext worker`` processes) can
share one database.  A round is created with a lease held by one worker, who
renews it while the round runs; a worker that dies stops renewing, and another
takes the round over once the lease runs out and resumes it from its run store.
Creating round *n* twice fails on a unique key, and finishing checks the lease in
the same transaction, so two workers never run or finish the same round.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import socket
import time
import uuid
from pathlib import Path
from typing import Any

from ..lm import scrub
from ._config import ServiceConfig
from ._records import RoundRecord, Slot
from ._round import RoundInputs, holdout_cost, run_round
from ._store import PRODUCTION, ServiceStore, utc_day

__all__ = ["Worker"]

log = logging.getLogger("paretext.service")


def _run_dir(runs: Path, slot: Slot, user_key: str, number: int) -> str:
    who = "shared" if not user_key else "user-" + hashlib.sha256(user_key.encode()).hexdigest()[:12]
    return str(runs.resolve() / f"t{slot.tenant_id}" / slot.name / who / f"round-{number:04d}")


class Worker:
    """Runs rounds one at a time; ``stop()`` ends the loop after releasing its round."""

    def __init__(self, store: ServiceStore, config: ServiceConfig, name: str | None = None) -> None:
        self.store = store
        self.config = config
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run_forever(self) -> None:
        log.info("worker %s started", self.name)
        while not self._stopping.is_set():
            try:
                worked = await self.step()
            except Exception as exc:  # a database hiccup must not end the loop
                log.error("worker step failed: %s", scrub(str(exc)))
                worked = False
            if not worked:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.config.poll_s)

    async def step(self) -> bool:
        """Do one round if one is due (a stale one first); ``False`` when there was nothing."""
        rnd = await asyncio.to_thread(
            self.store.claim_stale, self.name, self.config.lease_s, self.config.max_attempts
        )
        if rnd is None:
            rnd = await asyncio.to_thread(self._start_due)
        if rnd is None:
            return False
        await self._run(rnd)
        return True

    # -- deciding what is due -----------------------------------------------------------
    def _start_due(self) -> RoundRecord | None:
        for slot in self.store.slots():
            keys = [""]
            if slot.policy.get("personalize"):
                keys += self.store.user_keys(slot.id, int(slot.policy["user_min_events"]))
            for key in keys:
                rnd = self._maybe_start(slot, key)
                if rnd is not None:
                    return rnd
        return None

    def _maybe_start(self, slot: Slot, user_key: str) -> RoundRecord | None:
        policy = slot.policy
        last = self.store.last_round(slot.id, user_key)
        if last is not None and last.status == "running":
            return None
        after = last.event_max_id if last is not None else 0
        total, new, oldest = self.store.event_stats(slot.id, user_key, after)
        needed = int(policy["user_min_events"] if user_key else policy["min_events"])
        if total < needed:
            return None
        waited = (
            oldest is not None
            and policy.get("max_wait_s") is not None
            and (time.time() - oldest >= float(policy["max_wait_s"]))
        )
        requested = slot.round_requested and not user_key
        enough = int(policy["user_min_events"] if user_key else policy["min_new_events"])
        if not (new >= enough or (new > 0 and waited) or requested):
            return None
        upto = self.store.max_event_id(slot.id, user_key)
        n_events = min(total, int(policy["max_events"]))
        reserve = self._reserve(slot, n_events)
        if reserve is None:
            return None
        rollouts, usd = reserve
        base = self.store.resolve(slot.id, PRODUCTION, user_key)
        number = (last.number if last is not None else 0) + 1
        rnd = self.store.start_round(
            slot=slot,
            user_key=user_key,
            number=number,
            event_max_id=upto,
            n_events=n_events,
            base_version_id=base.id,
            run_path=lambda _id: _run_dir(self.config.runs, slot, user_key, number),
            reserved_rollouts=rollouts,
            reserved_usd=usd,
            owner=self.name,
            lease_s=self.config.lease_s,
        )
        if rnd is not None:
            log.info(
                "round %d of slot %s (user %r) started on %d events",
                number,
                slot.name,
                user_key,
                n_events,
            )
        return rnd

    def _reserve(self, slot: Slot, n_events: int) -> tuple[int, float | None] | None:
        """What the round may spend under today's caps, or ``None`` when too little is left."""
        policy = slot.policy
        spent = self.store.spent(slot.id, utc_day())
        rollouts = int(policy["round_rollouts"])
        if policy.get("max_rollouts_per_day") is not None:
            rollouts = min(rollouts, int(policy["max_rollouts_per_day"]) - spent.rollouts)
        n_hold = holdout_cost(n_events, float(policy["holdout_fraction"])) // 2
        n_val = (n_events - n_hold) // 2
        # The seed's validation, one proposal (two minibatches of 3) and its validation.
        if rollouts - 2 * n_hold < 2 * n_val + 6:
            return None
        usd = None
        if policy.get("max_usd_per_day") is not None:
            usd = float(policy["max_usd_per_day"]) - spent.usd
            if usd <= 0:
                return None
        return rollouts, usd

    # -- running one round ------------------------------------------------------------
    async def _run(self, rnd: RoundRecord) -> None:
        slot = await asyncio.to_thread(self.store.slot_by_id, rnd.slot_id)
        events = await asyncio.to_thread(
            self.store.events,
            rnd.slot_id,
            user_key=rnd.user_key or None,
            upto_id=rnd.event_max_id,
            limit=rnd.n_events,
            newest=True,
        )
        base = await asyncio.to_thread(self.store.version_by_id, rnd.base_version_id)
        work = asyncio.ensure_future(run_round(RoundInputs(slot, rnd, base, events), self.config))
        beat = asyncio.ensure_future(self._heartbeat(rnd, work))
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({work, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            beat.cancel()
            stopping.cancel()
        if not work.done():  # stop() while the round ran: hand it back for another worker
            work.cancel()
            with contextlib.suppress(BaseException):
                await work
            await asyncio.to_thread(
                self.store.fail_round,
                rnd,
                self.name,
                "interrupted: the worker stopped",
                final=False,
                retry_in=0.0,
            )
            return
        if work.cancelled():
            log.warning("round %d of slot %s: lease lost to another worker", rnd.number, slot.name)
            return
        exc = work.exception()
        if exc is not None:
            message = scrub(f"{type(exc).__name__}: {exc}")
            final = rnd.attempts >= self.config.max_attempts
            log.error(
                "round %d of slot %s failed (attempt %d): %s",
                rnd.number,
                slot.name,
                rnd.attempts,
                message,
            )
            await asyncio.to_thread(
                self.store.fail_round,
                rnd,
                self.name,
                message,
                final=final,
                retry_in=min(300.0, 5.0 * 2**rnd.attempts),
                # The failed attempt's store holds its failures; a retry starts clean.
                run_path=f"{rnd.run_path.split('.retry-')[0]}.retry-{rnd.attempts + 1}",
            )
            return
        finished = await asyncio.to_thread(self.store.finish_round, rnd, self.name, work.result())
        if finished is not None:
            log.info("round %d of slot %s finished: %s", rnd.number, slot.name, finished.status)

    async def _heartbeat(self, rnd: RoundRecord, work: asyncio.Future[Any]) -> None:
        while True:
            await asyncio.sleep(self.config.lease_s / 3)
            try:
                owned = await asyncio.to_thread(
                    self.store.renew, rnd.id, self.name, self.config.lease_s
                )
            except Exception as exc:  # the database is away: try again at the next beat
                log.warning("could not renew the lease of round %d: %s", rnd.id, scrub(str(exc)))
                continue
            if not owned:
                work.cancel()
                return
