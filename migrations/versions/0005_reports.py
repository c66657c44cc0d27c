"""reports: saved filters and the call-list report indexes

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 16:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "saved_report_filters",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("shared_team_id", sa.Uuid(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["orgs.id"],
            name=op.f("fk_saved_report_filters_org_id_orgs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_saved_report_filters_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shared_team_id"],
            ["teams.id"],
            name=op.f("fk_saved_report_filters_shared_team_id_teams"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_report_filters")),
        sa.UniqueConstraint("owner_id", "name", name=op.f("uq_saved_report_filters_owner_id_name")),
    )
    with op.batch_alter_table("saved_report_filters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_saved_report_filters_org_id"), ["org_id"])
        batch_op.create_index(
            batch_op.f("ix_saved_report_filters_shared_team_id"), ["shared_team_id"]
        )

    # The call-list report's keyset walks (one per sort) and the "own calls" probe.
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index("ix_calls_report_started", ["org_id", "started_at", "id"])
        batch_op.create_index("ix_calls_report_from", ["org_id", "from_number", "id"])
        batch_op.create_index("ix_calls_report_to", ["org_id", "to_number", "id"])
    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.create_index("ix_participants_report_call_user", ["call_id", "user_id"])


def downgrade() -> None:
    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.drop_index("ix_participants_report_call_user")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_report_to")
        batch_op.drop_index("ix_calls_report_from")
        batch_op.drop_index("ix_calls_report_started")
    with op.batch_alter_table("saved_report_filters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saved_report_filters_shared_team_id"))
        batch_op.drop_index(batch_op.f("ix_saved_report_filters_org_id"))
    op.drop_table("saved_report_filters")
