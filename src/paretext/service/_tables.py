"""The service's tables (SQLAlchemy Core).  Migrations in ``migrations/`` create them.

One database holds every tenant: each row that belongs to a tenant carries its
``tenant_id`` (directly or through its slot), and every query in
:mod:`._store` filters on it.  ``user_key`` is ``""`` for a slot's shared rows.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = ["aliases", "events", "metadata", "rounds", "slots", "tenants", "tokens", "versions"]

metadata = MetaData()

tenants = Table(
    "tenants",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", Integer, ForeignKey("tenants.id"), nullable=False, index=True),
    Column("digest", String(64), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
)

slots = Table(
    "slots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", Integer, ForeignKey("tenants.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("program", JSON, nullable=False),
    Column("policy", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("round_requested", Boolean, nullable=False, default=False),
    UniqueConstraint("tenant_id", "name", name="uq_slots_tenant_name"),
)

versions = Table(
    "versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("slot_id", Integer, ForeignKey("slots.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("user_key", String(200), nullable=False, default=""),
    Column("components", JSON, nullable=False),
    Column("source", String(20), nullable=False),
    Column("round_id", Integer, nullable=True),
    Column("parent_number", Integer, nullable=True),
    Column("scores", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("slot_id", "number", name="uq_versions_slot_number"),
)

aliases = Table(
    "aliases",
    metadata,
    Column("slot_id", Integer, ForeignKey("slots.id"), primary_key=True),
    Column("user_key", String(200), primary_key=True),
    Column("name", String(100), primary_key=True),
    Column("version_id", Integer, ForeignKey("versions.id"), nullable=False),
    Column("updated_at", Float, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("slot_id", Integer, ForeignKey("slots.id"), nullable=False),
    Column("user_key", String(200), nullable=False, default=""),
    Column("client_id", String(200), nullable=True),
    Column("version", Integer, nullable=True),
    Column("input", JSON, nullable=False),
    Column("output", Text, nullable=False),
    Column("feedback", Text, nullable=True),
    Column("score", Float, nullable=True),
    Column("thumbs", Boolean, nullable=True),
    Column("corrected", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("slot_id", "client_id", name="uq_events_slot_client"),
    Index("ix_events_slot_key_id", "slot_id", "user_key", "id"),
)

rounds = Table(
    "rounds",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("slot_id", Integer, ForeignKey("slots.id"), nullable=False),
    Column("user_key", String(200), nullable=False),
    Column("number", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("day", String(10), nullable=False),
    Column("event_max_id", Integer, nullable=False),
    Column("n_events", Integer, nullable=False),
    Column("base_version_id", Integer, ForeignKey("versions.id"), nullable=False),
    Column("result_version_id", Integer, ForeignKey("versions.id"), nullable=True),
    Column("run_path", Text, nullable=False),
    Column("reserved_rollouts", Integer, nullable=False),
    Column("reserved_usd", Float, nullable=True),
    Column("used_rollouts", Integer, nullable=True),
    Column("used_usd", Float, nullable=True),
    Column("scores", JSON, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("error", Text, nullable=True),
    Column("lease_owner", String(100), nullable=True),
    Column("lease_until", Float, nullable=False, default=0.0),
    Column("created_at", Float, nullable=False),
    Column("finished_at", Float, nullable=True),
    UniqueConstraint("slot_id", "user_key", "number", name="uq_rounds_slot_key_number"),
    Index("ix_rounds_status", "status"),
)
