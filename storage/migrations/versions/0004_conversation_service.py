"""The service code of a check in progress as its own column (issue 14), so storage never opens
the conversation's data to count an expired check by service.

Existing rows get "" (not recorded); the next tap on such a check writes its code.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("conversation", sa.Column("service", sa.String(32), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("conversation") as batch:
        batch.drop_column("service")
