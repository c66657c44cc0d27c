"""siprec metadata and recording events

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 08:56:41.725095
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("siprec_metadata", sa.Text(), nullable=True))

    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("events", sa.JSON(), server_default=sa.text("'[]'"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_column("events")

    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("siprec_metadata")
