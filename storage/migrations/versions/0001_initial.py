"""Initial schema: conversation, processed_update, outcome_count, lookup_count.

Codes, integers and times only: every string column is short and the one JSON column holds the
answer codes of a check in progress.

Revision ID: 0001
Revises:
Create Date: 2026-05-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the four tables and their indexes."""
    op.create_table(
        "conversation",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("check_id", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("anchor_message_id", sa.BigInteger(), nullable=True),
        sa.Column("content_version", sa.String(16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_conversation_expires_at", "conversation", ["expires_at"])
    op.create_table(
        "processed_update",
        sa.Column("update_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_processed_update_seen_at", "processed_update", ["seen_at"])
    op.create_table(
        "outcome_count",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("level", sa.String(32), primary_key=True),
        sa.Column("content_version", sa.String(16), primary_key=True),
        sa.Column("service", sa.String(32), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
    )
    op.create_table(
        "lookup_count",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    """Drop everything (only for tests and a deliberate rollback: the data goes with it)."""
    op.drop_table("lookup_count")
    op.drop_table("outcome_count")
    op.drop_index("ix_processed_update_seen_at", table_name="processed_update")
    op.drop_table("processed_update")
    op.drop_index("ix_conversation_expires_at", table_name="conversation")
    op.drop_table("conversation")
