"""The first schema: tenants, tokens, slots, versions, aliases, events, rounds.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.Integer, sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False),
    )
    op.create_index("ix_tokens_tenant_id", "tokens", ["tenant_id"])
    op.create_table(
        "slots",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.Integer, sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("program", sa.JSON, nullable=False),
        sa.Column("policy", sa.JSON, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("round_requested", sa.Boolean, nullable=False),
        sa.UniqueConstraint("tenant_id", "name", name="uq_slots_tenant_name"),
    )
    op.create_table(
        "versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("slot_id", sa.Integer, sa.ForeignKey("slots.id"), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("user_key", sa.String(200), nullable=False),
        sa.Column("components", sa.JSON, nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("round_id", sa.Integer, nullable=True),
        sa.Column("parent_number", sa.Integer, nullable=True),
        sa.Column("scores", sa.JSON, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("slot_id", "number", name="uq_versions_slot_number"),
    )
    op.create_table(
        "aliases",
        sa.Column("slot_id", sa.Integer, sa.ForeignKey("slots.id"), primary_key=True),
        sa.Column("user_key", sa.String(200), primary_key=True),
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("slot_id", sa.Integer, sa.ForeignKey("slots.id"), nullable=False),
        sa.Column("user_key", sa.String(200), nullable=False),
        sa.Column("client_id", sa.String(200), nullable=True),
        sa.Column("version", sa.Integer, nullable=True),
        sa.Column("input", sa.JSON, nullable=False),
        sa.Column("output", sa.Text, nullable=False),
        sa.Column("feedback", sa.Text, nullable=True),
        sa.Column("score", sa.Float, nullable=True),
        sa.Column("thumbs", sa.Boolean, nullable=True),
        sa.Column("corrected", sa.Text, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("slot_id", "client_id", name="uq_events_slot_client"),
    )
    op.create_index("ix_events_slot_key_id", "events", ["slot_id", "user_key", "id"])
    op.create_table(
        "rounds",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("slot_id", sa.Integer, sa.ForeignKey("slots.id"), nullable=False),
        sa.Column("user_key", sa.String(200), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("event_max_id", sa.Integer, nullable=False),
        sa.Column("n_events", sa.Integer, nullable=False),
        sa.Column("base_version_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=False),
        sa.Column("result_version_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=True),
        sa.Column("run_path", sa.Text, nullable=False),
        sa.Column("reserved_rollouts", sa.Integer, nullable=False),
        sa.Column("reserved_usd", sa.Float, nullable=True),
        sa.Column("used_rollouts", sa.Integer, nullable=True),
        sa.Column("used_usd", sa.Float, nullable=True),
        sa.Column("scores", sa.JSON, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("lease_owner", sa.String(100), nullable=True),
        sa.Column("lease_until", sa.Float, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float, nullable=True),
        sa.UniqueConstraint("slot_id", "user_key", "number", name="uq_rounds_slot_key_number"),
    )
    op.create_index("ix_rounds_status", "rounds", ["status"])


def downgrade() -> None:
    for name in ("rounds", "events", "aliases", "versions", "slots", "tokens", "tenants"):
        op.drop_table(name)
