"""Feedback counts: which advice practitioners questioned ("Report a problem with this advice").

Counts only: day, outcome level, situation blocks shown (an integer bit mask over the content's
addenda) and content version. No chat key, no text.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "feedback_count",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("level", sa.String(32), primary_key=True),
        sa.Column("blocks", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("content_version", sa.String(16), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("feedback_count")
