"""Outcome counts by channel: telegram, terminal or web (issue 16, the web channel).

Adds ``channel`` to ``outcome_count``'s key. Counts made before this revision keep ``""`` (not
recorded). The table is rebuilt (create, copy, drop, rename) because SQLite cannot change a
primary key in place; it holds anonymous counters only.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

COLUMNS = "day, level, content_version, service"


def _table(name: str, *, channel: bool) -> None:
    op.create_table(
        name,
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("level", sa.String(32), primary_key=True),
        sa.Column("content_version", sa.String(16), primary_key=True),
        sa.Column("service", sa.String(32), primary_key=True),
        *([sa.Column("channel", sa.String(32), primary_key=True)] if channel else []),
        sa.Column("count", sa.Integer(), nullable=False),
    )


def _rebuild(*, channel: bool, select: str) -> None:
    """Replace outcome_count by a table with (or without) the channel column, filled by ``select``."""
    name = f"outcome_count_{revision if channel else down_revision}"
    _table(name, channel=channel)
    columns = f"{COLUMNS}, channel, count" if channel else f"{COLUMNS}, count"
    op.execute(f"INSERT INTO {name} ({columns}) {select}")  # noqa: S608 - constants only
    op.drop_table("outcome_count")
    op.rename_table(name, "outcome_count")


def upgrade() -> None:
    _rebuild(channel=True, select=f"SELECT {COLUMNS}, '', count FROM outcome_count")  # noqa: S608


def downgrade() -> None:
    """Back to one row per day, level, version and service: the channels' counts are added up."""
    select = f"SELECT {COLUMNS}, SUM(count) FROM outcome_count GROUP BY {COLUMNS}"  # noqa: S608
    _rebuild(channel=False, select=select)
