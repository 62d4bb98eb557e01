"""The service store: every read and write of the service database, one transaction each.

Contract:

* every method that takes a ``tenant_id`` only ever sees that tenant's rows;
* an event is acknowledged only after the transaction that stored it committed;
* versions are immutable; aliases move (``production``, ``previous``, any name);
* a round finishes in one transaction that checks its lease, stores its version and
  moves the aliases, so a version is never half-promoted and two workers never both
  finish one round.

Methods are synchronous (SQLAlchemy's sync engine); the app and worker call them
in a thread so the event loop never blocks.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypeVar

from sqlalchemy import Connection, CursorResult, Engine, Row, and_, func, select, update
from sqlalchemy.exc import IntegrityError

from ._errors import Conflict, NotFound, ServiceError
from ._records import EventRecord, RoundRecord, Slot, Spend, Version
from ._schemas import EventIn, SlotIn
from ._tables import aliases, events, rounds, slots, tenants, tokens, versions

__all__ = ["PREVIOUS", "PRODUCTION", "Outcome", "ServiceStore", "hash_token", "utc_day"]

PRODUCTION = "production"
PREVIOUS = "previous"
T = TypeVar("T")


def hash_token(token: str) -> str:
    """Tokens are long random strings, so one sha256 is enough (no password stretching)."""
    return hashlib.sha256(token.encode()).hexdigest()


def utc_day(now: float | None = None) -> str:
    return datetime.fromtimestamp(time.time() if now is None else now, timezone.utc).strftime(
        "%Y-%m-%d"
    )


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a round ended: the best candidate, if it differs from the base, and the scores."""

    components: Mapping[str, str] | None
    promote: bool
    scores: Mapping[str, Any]
    used_rollouts: int
    used_usd: float | None


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    if key is None:
        raise RuntimeError("the database returned no id for an insert")
    return int(key[0])


def _slot(row: Row[Any]) -> Slot:
    m = row._mapping
    return Slot(
        m["id"],
        m["tenant_id"],
        m["name"],
        m["program"],
        m["policy"],
        m["created_at"],
        bool(m["round_requested"]),
    )


def _version(row: Row[Any]) -> Version:
    m = row._mapping
    return Version(
        m["id"],
        m["slot_id"],
        m["number"],
        m["user_key"],
        m["components"],
        m["source"],
        m["round_id"],
        m["parent_number"],
        m["scores"],
        m["created_at"],
    )


def _event(row: Row[Any]) -> EventRecord:
    return EventRecord(**dict(row._mapping))


def _round(row: Row[Any]) -> RoundRecord:
    return RoundRecord(**dict(row._mapping))


class ServiceStore:
    """The one place that reads and writes the service database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        #: Bumped on every alias change made through this object (read caches compare it).
        self.generation = 0

    def close(self) -> None:
        self.engine.dispose()

    def _retry_conflicts(self, fn: Callable[[Connection], T], attempts: int = 5) -> T:
        """Run ``fn`` in a transaction, again when a concurrent writer took the same number."""
        for attempt in range(attempts):
            try:
                with self.engine.begin() as conn:
                    return fn(conn)
            except IntegrityError:
                if attempt == attempts - 1:
                    raise
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    # -- tenants and tokens -----------------------------------------------------------
    def create_tenant(self, name: str) -> tuple[int, str]:
        """A new tenant and its first API token (returned once; only its hash is kept)."""
        try:
            with self.engine.begin() as conn:
                tenant_id = _new_id(
                    conn.execute(tenants.insert().values(name=name, created_at=time.time()))
                )
                token = self._add_token(conn, int(tenant_id))
        except IntegrityError:
            raise Conflict(f"a tenant named {name!r} already exists") from None
        return int(tenant_id), token

    def add_token(self, tenant_name: str) -> str:
        with self.engine.begin() as conn:
            tenant_id = conn.scalar(select(tenants.c.id).where(tenants.c.name == tenant_name))
            if tenant_id is None:
                raise NotFound(f"no tenant named {tenant_name!r}")
            return self._add_token(conn, tenant_id)

    @staticmethod
    def _add_token(conn: Connection, tenant_id: int) -> str:
        token = "pt_" + secrets.token_urlsafe(32)
        conn.execute(
            tokens.insert().values(
                tenant_id=tenant_id,
                digest=hash_token(token),
                created_at=time.time(),
                revoked=False,
            )
        )
        return token

    def tenant_for_token(self, token: str) -> int | None:
        digest = hash_token(token)
        with self.engine.connect() as conn:
            row = conn.execute(
                select(tokens.c.tenant_id, tokens.c.digest).where(
                    tokens.c.digest == digest, tokens.c.revoked.is_(False)
                )
            ).first()
        if row is None or not hmac.compare_digest(row.digest, digest):
            return None
        return int(row.tenant_id)

    def tenants(self) -> list[tuple[int, str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(tenants.c.id, tenants.c.name).order_by(tenants.c.id))
            return [(int(r.id), str(r.name)) for r in rows]

    # -- slots ---------------------------------------------------------------------------
    def create_slot(self, tenant_id: int, spec: SlotIn) -> Slot:
        """The slot, its version 1 (the given components) and ``production`` pointing at it."""
        now = time.time()
        try:
            with self.engine.begin() as conn:
                slot_id = _new_id(
                    conn.execute(
                        slots.insert().values(
                            tenant_id=tenant_id,
                            name=spec.name,
                            program=spec.program.model_dump(mode="json"),
                            policy=spec.policy.model_dump(mode="json"),
                            created_at=now,
                            round_requested=False,
                        )
                    )
                )
                version_id = self._insert_version(
                    conn, int(slot_id), dict(spec.components), "", "manual", None, None, {}
                )
                self._set_alias(conn, int(slot_id), "", PRODUCTION, version_id)
        except IntegrityError:
            raise Conflict(f"a slot named {spec.name!r} already exists") from None
        self.generation += 1
        return self.slot(tenant_id, spec.name)

    def slot(self, tenant_id: int, name: str) -> Slot:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(slots).where(slots.c.tenant_id == tenant_id, slots.c.name == name)
            ).first()
        if row is None:
            raise NotFound(f"no slot named {name!r}")
        return _slot(row)

    def slot_by_id(self, slot_id: int) -> Slot:
        with self.engine.connect() as conn:
            row = conn.execute(select(slots).where(slots.c.id == slot_id)).first()
        if row is None:
            raise NotFound(f"no slot with id {slot_id}")
        return _slot(row)

    def slots(self, tenant_id: int | None = None) -> list[Slot]:
        query = select(slots).order_by(slots.c.id)
        if tenant_id is not None:
            query = query.where(slots.c.tenant_id == tenant_id)
        with self.engine.connect() as conn:
            return [_slot(r) for r in conn.execute(query)]

    def request_round(self, slot_id: int, requested: bool = True) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(slots).where(slots.c.id == slot_id).values(round_requested=requested)
            )

    # -- versions and aliases ------------------------------------------------------------
    @staticmethod
    def _insert_version(
        conn: Connection,
        slot_id: int,
        components: Mapping[str, str],
        user_key: str,
        source: str,
        round_id: int | None,
        parent_number: int | None,
        scores: Mapping[str, Any],
    ) -> int:
        number = (
            conn.scalar(select(func.max(versions.c.number)).where(versions.c.slot_id == slot_id))
            or 0
        ) + 1
        return _new_id(
            conn.execute(
                versions.insert().values(
                    slot_id=slot_id,
                    number=number,
                    user_key=user_key,
                    components=dict(components),
                    source=source,
                    round_id=round_id,
                    parent_number=parent_number,
                    scores=dict(scores),
                    created_at=time.time(),
                )
            )
        )

    @staticmethod
    def _set_alias(
        conn: Connection, slot_id: int, user_key: str, name: str, version_id: int
    ) -> None:
        key = and_(
            aliases.c.slot_id == slot_id,
            aliases.c.user_key == user_key,
            aliases.c.name == name,
        )
        now = time.time()
        if (
            conn.execute(
                update(aliases).where(key).values(version_id=version_id, updated_at=now)
            ).rowcount
            == 0
        ):
            conn.execute(
                aliases.insert().values(
                    slot_id=slot_id,
                    user_key=user_key,
                    name=name,
                    version_id=version_id,
                    updated_at=now,
                )
            )

    @staticmethod
    def _alias_id(conn: Connection, slot_id: int, user_key: str, name: str) -> int | None:
        return conn.scalar(
            select(aliases.c.version_id).where(
                aliases.c.slot_id == slot_id,
                aliases.c.user_key == user_key,
                aliases.c.name == name,
            )
        )

    def _promote(self, conn: Connection, slot_id: int, user_key: str, version_id: int) -> None:
        """``production`` moves to the version; ``previous`` to what production was."""
        current = self._alias_id(conn, slot_id, user_key, PRODUCTION)
        if current is None and user_key:
            current = self._alias_id(conn, slot_id, "", PRODUCTION)
        if current is not None and current != version_id:
            self._set_alias(conn, slot_id, user_key, PREVIOUS, current)
        self._set_alias(conn, slot_id, user_key, PRODUCTION, version_id)

    def add_version(
        self,
        slot: Slot,
        components: Mapping[str, str],
        user_key: str = "",
        alias: str | None = None,
    ) -> Version:
        program_components = {s["component"] for s in slot.program["steps"]}
        missing = sorted(program_components - set(components))
        if missing:
            raise ServiceError(
                f"the version lacks components {missing} that the slot's program uses"
            )

        def write(conn: Connection) -> int:
            version_id = self._insert_version(
                conn, slot.id, components, user_key, "manual", None, None, {}
            )
            if alias == PRODUCTION:
                self._promote(conn, slot.id, user_key, version_id)
            elif alias is not None:
                self._set_alias(conn, slot.id, user_key, alias, version_id)
            return version_id

        version_id = self._retry_conflicts(write)
        self.generation += 1
        return self.version_by_id(version_id)

    def version_by_id(self, version_id: int) -> Version:
        with self.engine.connect() as conn:
            row = conn.execute(select(versions).where(versions.c.id == version_id)).first()
        if row is None:
            raise NotFound(f"no version with id {version_id}")
        return _version(row)

    def version(self, slot_id: int, number: int) -> Version:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(versions).where(versions.c.slot_id == slot_id, versions.c.number == number)
            ).first()
        if row is None:
            raise NotFound(f"no version {number} of this slot")
        return _version(row)

    def versions(self, slot_id: int) -> list[Version]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(versions).where(versions.c.slot_id == slot_id).order_by(versions.c.number)
            )
            return [_version(r) for r in rows]

    def aliases(self, slot_id: int) -> dict[tuple[str, str], int]:
        """``(user_key, alias) -> version number``."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(aliases.c.user_key, aliases.c.name, versions.c.number)
                .join(versions, versions.c.id == aliases.c.version_id)
                .where(aliases.c.slot_id == slot_id)
            )
            return {(r.user_key, r.name): int(r.number) for r in rows}

    def resolve(self, slot_id: int, alias: str, user_key: str = "") -> Version:
        """The version behind ``alias`` for ``user_key``, falling back to the shared alias."""
        with self.engine.connect() as conn:
            version_id = None
            if user_key:
                version_id = self._alias_id(conn, slot_id, user_key, alias)
            if version_id is None:
                version_id = self._alias_id(conn, slot_id, "", alias)
            if version_id is None:
                raise NotFound(f"no alias {alias!r} on this slot")
            row = conn.execute(select(versions).where(versions.c.id == version_id)).one()
        return _version(row)

    def move_alias(self, slot_id: int, name: str, number: int, user_key: str = "") -> Version:
        def write(conn: Connection) -> int:
            version_id = conn.scalar(
                select(versions.c.id).where(
                    versions.c.slot_id == slot_id, versions.c.number == number
                )
            )
            if version_id is None:
                raise NotFound(f"no version {number} of this slot")
            if name == PRODUCTION:
                self._promote(conn, slot_id, user_key, version_id)
            else:
                self._set_alias(conn, slot_id, user_key, name, version_id)
            return int(version_id)

        version_id = self._retry_conflicts(write)
        self.generation += 1
        return self.version_by_id(version_id)

    def rollback(self, slot_id: int, user_key: str = "") -> Version:
        """``production`` goes back to ``previous`` (and ``previous`` to what was live)."""
        with self.engine.begin() as conn:
            previous = self._alias_id(conn, slot_id, user_key, PREVIOUS)
            current = self._alias_id(conn, slot_id, user_key, PRODUCTION)
            if previous is None or current is None:
                who = f" for user {user_key!r}" if user_key else ""
                raise Conflict(f"nothing to roll back to{who}: no 'previous' version")
            self._set_alias(conn, slot_id, user_key, PRODUCTION, previous)
            self._set_alias(conn, slot_id, user_key, PREVIOUS, current)
        self.generation += 1
        return self.version_by_id(previous)

    # -- events ----------------------------------------------------------------------------
    def add_events(self, slot: Slot, items: Sequence[EventIn]) -> list[int]:
        """Store events in one transaction; an ``id`` seen before returns the stored event's id."""
        named = {i.version for i in items if i.version is not None}

        def write(conn: Connection) -> list[int]:
            if named:
                found = set(
                    conn.scalars(
                        select(versions.c.number).where(
                            versions.c.slot_id == slot.id, versions.c.number.in_(named)
                        )
                    )
                )
                if named - found:
                    raise NotFound(
                        f"event names version {min(named - found)}, which this slot does not have"
                    )
            client_ids = [i.id for i in items if i.id is not None]
            existing: dict[str, int] = {}
            if client_ids:
                rows = conn.execute(
                    select(events.c.client_id, events.c.id).where(
                        events.c.slot_id == slot.id, events.c.client_id.in_(client_ids)
                    )
                )
                existing = {str(r.client_id): int(r.id) for r in rows}
            ids: list[int] = []
            now = time.time()
            for item in items:
                if item.id is not None and item.id in existing:
                    ids.append(existing[item.id])
                    continue
                new_id = _new_id(
                    conn.execute(
                        events.insert().values(
                            slot_id=slot.id,
                            user_key=item.user or "",
                            client_id=item.id,
                            version=item.version,
                            input=item.input,
                            output=item.output,
                            feedback=item.feedback,
                            score=item.score,
                            thumbs=item.thumbs,
                            corrected=item.corrected,
                            created_at=now,
                        )
                    )
                )
                ids.append(int(new_id))
                if item.id is not None:
                    existing[item.id] = int(new_id)
            return ids

        return self._retry_conflicts(write)

    def events(
        self,
        slot_id: int,
        *,
        user_key: str | None = None,
        after_id: int = 0,
        upto_id: int | None = None,
        limit: int | None = None,
        newest: bool = False,
    ) -> list[EventRecord]:
        """Events in id order; ``newest`` keeps the last ``limit`` of the range instead."""
        query = select(events).where(events.c.slot_id == slot_id, events.c.id > after_id)
        if user_key:
            query = query.where(events.c.user_key == user_key)
        if upto_id is not None:
            query = query.where(events.c.id <= upto_id)
        query = query.order_by(events.c.id.desc() if newest else events.c.id)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            found = [_event(r) for r in conn.execute(query)]
        return sorted(found, key=lambda e: e.id)

    def event_stats(
        self, slot_id: int, user_key: str, after_id: int
    ) -> tuple[int, int, float | None]:
        """(events in all, new events after ``after_id``, time of the oldest new one)."""
        scope = [events.c.slot_id == slot_id]
        if user_key:
            scope.append(events.c.user_key == user_key)
        with self.engine.connect() as conn:
            total = conn.scalar(select(func.count()).select_from(events).where(*scope)) or 0
            new, oldest, _last = conn.execute(
                select(func.count(), func.min(events.c.created_at), func.max(events.c.id))
                .select_from(events)
                .where(*scope, events.c.id > after_id)
            ).one()
        return int(total), int(new or 0), oldest

    def max_event_id(self, slot_id: int, user_key: str) -> int:
        scope = [events.c.slot_id == slot_id]
        if user_key:
            scope.append(events.c.user_key == user_key)
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.max(events.c.id)).where(*scope)) or 0)

    def user_keys(self, slot_id: int, min_events: int) -> list[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(events.c.user_key)
                .where(events.c.slot_id == slot_id, events.c.user_key != "")
                .group_by(events.c.user_key)
                .having(func.count() >= min_events)
                .order_by(events.c.user_key)
            )
            return [str(r.user_key) for r in rows]

    # -- rounds ----------------------------------------------------------------------------
    def rounds(self, slot_id: int, limit: int = 50) -> list[RoundRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(rounds)
                .where(rounds.c.slot_id == slot_id)
                .order_by(rounds.c.id.desc())
                .limit(limit)
            )
            return [_round(r) for r in rows]

    def round(self, round_id: int, tenant_id: int | None = None) -> RoundRecord:
        query = select(rounds).where(rounds.c.id == round_id)
        if tenant_id is not None:
            query = query.join(slots, slots.c.id == rounds.c.slot_id).where(
                slots.c.tenant_id == tenant_id
            )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFound(f"no round {round_id}")
        return _round(row)

    def last_round(self, slot_id: int, user_key: str) -> RoundRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(rounds)
                .where(rounds.c.slot_id == slot_id, rounds.c.user_key == user_key)
                .order_by(rounds.c.number.desc())
                .limit(1)
            ).first()
        return None if row is None else _round(row)

    def spent(self, slot_id: int, day: str) -> Spend:
        """Running rounds count what they reserved; finished ones what they used."""
        rollouts = func.coalesce(rounds.c.used_rollouts, rounds.c.reserved_rollouts)
        usd = func.coalesce(rounds.c.used_usd, rounds.c.reserved_usd, 0.0)
        with self.engine.connect() as conn:
            r, u = conn.execute(
                select(
                    func.coalesce(func.sum(rollouts), 0), func.coalesce(func.sum(usd), 0.0)
                ).where(rounds.c.slot_id == slot_id, rounds.c.day == day)
            ).one()
        return Spend(int(r), float(u))

    def start_round(
        self,
        *,
        slot: Slot,
        user_key: str,
        number: int,
        event_max_id: int,
        n_events: int,
        base_version_id: int,
        run_path: Callable[[int], str],
        reserved_rollouts: int,
        reserved_usd: float | None,
        owner: str,
        lease_s: float,
    ) -> RoundRecord | None:
        """Create round ``number`` leased to ``owner`` (``None``: another worker was first)."""
        now = time.time()
        try:
            with self.engine.begin() as conn:
                round_id = _new_id(
                    conn.execute(
                        rounds.insert().values(
                            slot_id=slot.id,
                            user_key=user_key,
                            number=number,
                            status="running",
                            day=utc_day(now),
                            event_max_id=event_max_id,
                            n_events=n_events,
                            base_version_id=base_version_id,
                            run_path="",
                            reserved_rollouts=reserved_rollouts,
                            reserved_usd=reserved_usd,
                            attempts=1,
                            lease_owner=owner,
                            lease_until=now + lease_s,
                            created_at=now,
                        )
                    )
                )
                conn.execute(
                    update(rounds)
                    .where(rounds.c.id == round_id)
                    .values(run_path=run_path(round_id))
                )
                if slot.round_requested:
                    conn.execute(
                        update(slots).where(slots.c.id == slot.id).values(round_requested=False)
                    )
        except IntegrityError:
            return None
        return self.round(round_id)

    def claim_stale(self, owner: str, lease_s: float, max_attempts: int) -> RoundRecord | None:
        """Take over a running round whose lease ran out (its worker died)."""
        now = time.time()
        with self.engine.connect() as conn:
            ids = [
                int(r.id)
                for r in conn.execute(
                    select(rounds.c.id)
                    .where(rounds.c.status == "running", rounds.c.lease_until < now)
                    .order_by(rounds.c.id)
                )
            ]
        for round_id in ids:
            with self.engine.begin() as conn:
                taken = conn.execute(
                    update(rounds)
                    .where(
                        rounds.c.id == round_id,
                        rounds.c.status == "running",
                        rounds.c.lease_until < now,
                    )
                    .values(
                        lease_owner=owner,
                        lease_until=now + lease_s,
                        attempts=rounds.c.attempts + 1,
                    )
                ).rowcount
                if not taken:
                    continue
                attempts = conn.scalar(select(rounds.c.attempts).where(rounds.c.id == round_id))
                if attempts is not None and attempts > max_attempts:
                    conn.execute(
                        update(rounds)
                        .where(rounds.c.id == round_id)
                        .values(
                            status="failed",
                            finished_at=now,
                            lease_owner=None,
                            error=f"gave up after {max_attempts} attempts",
                            used_rollouts=rounds.c.reserved_rollouts,
                            used_usd=rounds.c.reserved_usd,
                        )
                    )
                    continue
            return self.round(round_id)
        return None

    def renew(self, round_id: int, owner: str, lease_s: float) -> bool:
        """Extend the lease; ``False`` means another worker owns the round now."""
        with self.engine.begin() as conn:
            return bool(
                conn.execute(
                    update(rounds)
                    .where(
                        rounds.c.id == round_id,
                        rounds.c.lease_owner == owner,
                        rounds.c.status == "running",
                    )
                    .values(lease_until=time.time() + lease_s)
                ).rowcount
            )

    def finish_round(self, rnd: RoundRecord, owner: str, outcome: Outcome) -> RoundRecord | None:
        """Store the outcome, the new version and any promotion in one transaction.

        ``None`` when the lease was lost (another worker finishes the round instead).
        """
        now = time.time()
        if outcome.components is None:
            status = "unchanged"
        else:
            status = "promoted" if outcome.promote else "kept"

        def write(conn: Connection) -> bool:
            owned = conn.execute(
                update(rounds)
                .where(
                    rounds.c.id == rnd.id,
                    rounds.c.lease_owner == owner,
                    rounds.c.status == "running",
                )
                .values(lease_until=now + 60.0)
            ).rowcount
            if not owned:
                return False
            version_id = None
            if outcome.components is not None:
                base_number = conn.scalar(
                    select(versions.c.number).where(versions.c.id == rnd.base_version_id)
                )
                version_id = self._insert_version(
                    conn,
                    rnd.slot_id,
                    outcome.components,
                    rnd.user_key,
                    "round",
                    rnd.id,
                    base_number,
                    outcome.scores,
                )
                if outcome.promote:
                    self._promote(conn, rnd.slot_id, rnd.user_key, version_id)
            conn.execute(
                update(rounds)
                .where(rounds.c.id == rnd.id)
                .values(
                    status=status,
                    result_version_id=version_id,
                    scores=dict(outcome.scores),
                    used_rollouts=outcome.used_rollouts,
                    used_usd=outcome.used_usd,
                    finished_at=now,
                    lease_owner=None,
                    error=None,
                )
            )
            return True

        if not self._retry_conflicts(write):
            return None
        self.generation += 1
        return self.round(rnd.id)

    def fail_round(
        self,
        rnd: RoundRecord,
        owner: str,
        error: str,
        *,
        final: bool,
        retry_in: float,
        run_path: str | None = None,
    ) -> None:
        """Record a failed attempt: retried after ``retry_in`` s (in a fresh run store when
        ``run_path`` is given), or given up when ``final``."""
        values: dict[str, Any] = {"error": error[:2000]}
        if run_path is not None and not final:
            values["run_path"] = run_path
        if final:
            values.update(
                status="failed",
                finished_at=time.time(),
                lease_owner=None,
                used_rollouts=rnd.reserved_rollouts,
                used_usd=rnd.reserved_usd,
            )
        else:
            values.update(lease_owner=None, lease_until=time.time() + retry_in)
        with self.engine.begin() as conn:
            conn.execute(
                update(rounds)
                .where(rounds.c.id == rnd.id, rounds.c.lease_owner == owner)
                .values(**values)
            )

    def running_rounds(self) -> list[RoundRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(rounds).where(rounds.c.status == "running"))
            return [_round(r) for r in rows]
