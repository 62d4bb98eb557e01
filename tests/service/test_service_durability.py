"""kill -9 the service and the workers at random points while clients post and a round runs.

Afterwards: every acknowledged event is stored exactly once, every round finished
(resumed by another worker or retried), each round made at most one version, the
aliases point where the last promotion put them, and the interrupted round's result
is exactly what an uninterrupted run of the same round gives.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx2
import pytest
from servers import PROVIDER_KEY, Service, wait_for
from world import SLOT, event

from paretext.report import load
from paretext.service import ServiceConfig, ServiceStore, connect
from paretext.service._round import RoundInputs, run_round

pytestmark = pytest.mark.slow


class Clients:
    """Threads posting events with unique ids, retrying each until it is acknowledged."""

    def __init__(self, url: str, token: str, n: int = 3) -> None:
        self.url = url
        self.token = token
        self.acked: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._post, args=(k,)) for k in range(n)]

    def __enter__(self) -> Clients:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(30)

    def _post(self, k: int) -> None:
        headers = {"authorization": f"Bearer {self.token}"}
        with httpx2.Client(base_url=self.url, headers=headers, timeout=5) as c:
            i = 0
            while not self._stop.is_set():
                body = {**event(1000 + i), "id": f"c{k}-{i}"}
                try:
                    r = c.post("/v1/slots/support/events", json=body)
                except httpx2.HTTPError:
                    time.sleep(0.05)  # the service is down: send the same event again
                    continue
                if r.status_code == 201:
                    with self._lock:
                        self.acked.add(body["id"])
                    i += 1
                else:
                    time.sleep(0.05)


def _owner_pid(store: ServiceStore) -> int | None:
    running = store.running_rounds()
    if not running or not running[0].lease_owner:
        return None
    return int(running[0].lease_owner.split(":")[1])


def test_kill_nine_anywhere_loses_nothing(
    database: str, tmp_path: Path, llm: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(12)
    llm.latency = 0.1  # slow LLM calls: the round is still running when its worker is killed
    service = Service(database, tmp_path, llm, inline_worker=False, workers=2, lease=2.0)
    store = ServiceStore(connect(database))
    try:
        service.start()
        token = service.tenant("acme")
        # One round, asked for by hand: the clients' events are too few to start another.
        policy = {**SLOT["policy"], "min_new_events": 100000, "round_rollouts": 300}
        with service.client(token) as c:
            assert c.post("/v1/slots", json={**SLOT, "policy": policy}).status_code == 201
            batch = [event(i) for i in range(24)]
            assert (
                c.post("/v1/slots/support/events/batch", json={"events": batch}).status_code == 201
            )
            assert c.post("/v1/slots/support/rounds").status_code == 202
        with Clients(service.url, token) as clients:
            kills = 0
            for _ in range(2):
                # Kill whichever worker owns the round once it has made some LLM calls:
                # the first owner, then the one that took the round over after its lease.
                pid = wait_for(lambda: _owner_pid(store), 30, "a worker to own the round")
                calls = llm.total_requests + rng.randint(3, 15)
                wait_for(lambda n=calls: llm.total_requests >= n, 30, "the owner's LLM calls")
                victim = next(w for w in service.workers if w.proc and w.proc.pid == pid)
                victim.kill()
                kills += 1
                victim.start()
                time.sleep(rng.uniform(0.1, 0.6))
                service.api.kill()  # mid-request for some of the clients
                service.api.start()
                service.wait_ready()
                wait_for(lambda p=pid: _owner_pid(store) != p, 30, "the round's lease to pass on")
            llm.latency = 0.01
            time.sleep(1.0)
        assert kills == 2
        wait_for(lambda: not store.running_rounds(), 120, "every round to finish")

        slot = store.slot(1, "support")
        stored = store.events(slot.id)
        client_ids = [e.client_id for e in stored]
        assert len(client_ids) == len(set(client_ids)), "an event was stored twice"
        missing = clients.acked - set(client_ids)
        assert not missing, f"acknowledged events lost: {sorted(missing)[:5]}"
        assert len(clients.acked) > 20

        rounds = sorted(store.rounds(slot.id), key=lambda r: r.number)
        versions = store.versions(slot.id)
        assert rounds and all(r.status in ("promoted", "kept", "unchanged") for r in rounds), [
            (r.number, r.status, r.error) for r in rounds
        ]
        by_round = [v.round_id for v in versions if v.round_id is not None]
        assert len(by_round) == len(set(by_round)), "a round made two versions"
        for r in rounds:
            made = [v for v in versions if v.round_id == r.id]
            assert (r.result_version_id is None) == (not made)
            assert not made or made[0].id == r.result_version_id
        promoted = [r for r in rounds if r.status == "promoted"]
        aliases = store.aliases(slot.id)
        live = store.resolve(slot.id, "production")
        if promoted:
            assert live.id == promoted[-1].result_version_id
        else:
            assert live.number == 1
        assert aliases[("", "production")] == live.number

        # The interrupted round ended where an uninterrupted run of it ends.
        first = rounds[0]
        assert first.attempts >= 2, "round 1 was never taken over"
        assert load(first.run_path).finished
        llm.latency = 0.0
        monkeypatch.setenv("OPENAI_BASE_URL", llm.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", PROVIDER_KEY)
        base = store.version_by_id(first.base_version_id)
        events = store.events(
            slot.id, upto_id=first.event_max_id, limit=first.n_events, newest=True
        )
        again = asyncio.run(
            run_round(
                RoundInputs(slot, replace(first, run_path=str(tmp_path / "replay")), base, events),
                ServiceConfig(),
            )
        )
        assert dict(again.scores) == dict(first.scores or {})
        result = store.version_by_id(first.result_version_id) if first.result_version_id else None
        assert again.components == (dict(result.components) if result else None)
        assert PROVIDER_KEY not in service.logs()
    finally:
        llm.latency = 0.0
        service.stop()
        store.close()
