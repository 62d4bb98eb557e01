"""The service store on each backend: migrations match the tables, leases, budgets, atomicity."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from world import SLOT

from paretext.service import Outcome, ServiceConfig, ServiceStore, Worker, connect, migrate
from paretext.service._schemas import EventIn, SlotIn
from paretext.service._store import utc_day
from paretext.service._tables import metadata


@pytest.fixture
def store(database: str) -> Iterator[ServiceStore]:
    s = ServiceStore(connect(database))
    migrate(s.engine)
    migrate(s.engine)  # a second run is a no-op
    try:
        yield s
    finally:
        s.close()


def _slot(store: ServiceStore) -> tuple[int, int]:
    tenant_id, _ = store.create_tenant("acme")
    slot = store.create_slot(tenant_id, SlotIn.model_validate(SLOT))
    items = [EventIn(input=f"q{i}", output="a", thumbs=True) for i in range(10)]
    store.add_events(slot, items)
    return tenant_id, slot.id


def _start(store: ServiceStore, slot_id: int, owner: str, number: int = 1) -> object:
    slot = store.slot_by_id(slot_id)
    return store.start_round(
        slot=slot,
        user_key="",
        number=number,
        event_max_id=10,
        n_events=10,
        base_version_id=store.resolve(slot_id, "production").id,
        run_path=lambda rid: f"/tmp/never/{rid}",
        reserved_rollouts=100,
        reserved_usd=None,
        owner=owner,
        lease_s=60.0,
    )


def test_migrations_create_exactly_the_tables(store: ServiceStore) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_one_round_number_one_worker(store: ServiceStore) -> None:
    _, slot_id = _slot(store)
    first = _start(store, slot_id, "w1")
    assert first is not None
    assert _start(store, slot_id, "w2") is None  # the same round number cannot start twice
    # A live lease cannot be taken over; only its owner renews it.
    assert store.claim_stale("w2", 60.0, max_attempts=5) is None
    rnd = store.running_rounds()[0]
    assert store.renew(rnd.id, "w1", 60.0) and not store.renew(rnd.id, "w2", 60.0)


def test_stale_round_is_taken_over_and_only_the_owner_finishes(store: ServiceStore) -> None:
    _, slot_id = _slot(store)
    _start(store, slot_id, "w1")
    rnd = store.running_rounds()[0]
    # The attempt failed: the lease is handed back and the retry gets a fresh run store.
    store.fail_round(rnd, "w1", "boom", final=False, retry_in=0.0, run_path="/tmp/r.retry-2")
    time.sleep(0.01)
    taken = store.claim_stale("w2", 60.0, max_attempts=5)
    assert taken is not None and taken.lease_owner == "w2" and taken.attempts == 2
    assert taken.run_path == "/tmp/r.retry-2" and taken.error == "boom"
    outcome = Outcome({"system": "better"}, True, {"holdout": 1.0}, 40, None)
    assert store.finish_round(taken, "w1", outcome) is None  # w1 lost its lease
    done = store.finish_round(taken, "w2", outcome)
    assert done is not None and done.status == "promoted"
    assert store.finish_round(taken, "w2", outcome) is None  # finishing twice does nothing
    versions = store.versions(slot_id)
    assert [(v.number, v.source) for v in versions] == [(1, "manual"), (2, "round")]
    assert store.aliases(slot_id) == {("", "production"): 2, ("", "previous"): 1}


def test_attempts_run_out(store: ServiceStore) -> None:
    _, slot_id = _slot(store)
    _start(store, slot_id, "w1")
    for attempt in range(2, 4):
        rnd = store.running_rounds()[0]
        store.fail_round(rnd, rnd.lease_owner or "", "boom", final=False, retry_in=0.0)
        time.sleep(0.01)
        claimed = store.claim_stale(f"w{attempt}", 60.0, max_attempts=2)
        assert (claimed is None) == (attempt == 3)
    [failed] = store.rounds(slot_id)
    assert failed.status == "failed" and "gave up after 2 attempts" in (failed.error or "")


def test_spend_counts_reservations_then_use(store: ServiceStore) -> None:
    _, slot_id = _slot(store)
    _start(store, slot_id, "w1")
    assert store.spent(slot_id, utc_day()).rollouts == 100  # reserved while running
    rnd = store.running_rounds()[0]
    store.finish_round(rnd, "w1", Outcome(None, False, {}, 37, 0.25))
    spent = store.spent(slot_id, utc_day())
    assert (spent.rollouts, spent.usd) == (37, 0.25)
    assert store.spent(slot_id, "1999-01-01").rollouts == 0


def test_a_failed_promotion_moves_nothing(store: ServiceStore) -> None:
    _, slot_id = _slot(store)
    _start(store, slot_id, "w1")
    rnd = store.running_rounds()[0]
    bad = Outcome({"system": "x"}, True, {"not json": object()}, 1, None)
    with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises
        store.finish_round(rnd, "w1", bad)
    assert [v.number for v in store.versions(slot_id)] == [1]
    assert store.aliases(slot_id) == {("", "production"): 1}
    assert store.running_rounds()[0].status == "running"


def _worker_slot(store: ServiceStore, tmp_path: Path, **policy: object) -> tuple[Worker, int]:
    tenant_id, _ = store.create_tenant("acme")
    spec = {**SLOT, "policy": {**SLOT["policy"], **policy}}
    slot = store.create_slot(tenant_id, SlotIn.model_validate(spec))
    return Worker(store, ServiceConfig(runs=tmp_path, lease_s=60.0), name="w1"), slot.id


def _post(store: ServiceStore, slot_id: int, n: int) -> None:
    slot = store.slot_by_id(slot_id)
    store.add_events(slot, [EventIn(input=f"q{i}", output="a", thumbs=True) for i in range(n)])


def test_a_round_starts_when_enough_new_events_arrived(store: ServiceStore, tmp_path: Path) -> None:
    worker, slot_id = _worker_slot(store, tmp_path, min_new_events=12, min_events=8)
    _post(store, slot_id, 11)
    assert worker._start_due() is None
    _post(store, slot_id, 1)
    rnd = worker._start_due()
    assert rnd is not None and (rnd.number, rnd.n_events, rnd.event_max_id) == (1, 12, 12)
    assert rnd.run_path.endswith("/shared/round-0001")
    assert worker._start_due() is None  # one running round per slot and user
    store.finish_round(rnd, "w1", Outcome(None, False, {}, 30, None))
    assert worker._start_due() is None  # no new events since
    store.request_round(slot_id)
    again = worker._start_due()
    assert again is not None and again.number == 2
    assert not store.slot_by_id(slot_id).round_requested


def test_the_daily_rollout_cap_stops_rounds(store: ServiceStore, tmp_path: Path) -> None:
    worker, slot_id = _worker_slot(
        store, tmp_path, min_new_events=12, round_rollouts=100, max_rollouts_per_day=120
    )
    _post(store, slot_id, 12)
    rnd = worker._start_due()
    assert rnd is not None and rnd.reserved_rollouts == 100
    store.finish_round(rnd, "w1", Outcome(None, False, {}, 100, None))
    _post(store, slot_id, 12)
    # 20 rollouts are left today: less than a round on 24 events needs.
    assert worker._start_due() is None
