"""consent: announcements, org consent settings, announcement FKs on the settings levels

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 16:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEVELS = ("orgs", "teams", "users", "devices")


def _fk_name(table: str) -> str:
    return f"fk_{table}_rec_announcement_id_announcements"


def upgrade() -> None:
    op.create_table(
        "announcements",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("mp3", "tts", name="announcementkind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("tts_text", sa.Text(), nullable=True),
        sa.Column("tts_voice", sa.String(length=64), nullable=True),
        sa.Column("tts_pitch", sa.Integer(), nullable=True),
        sa.Column("tts_rate", sa.Integer(), nullable=True),
        sa.Column(
            "tts_gender",
            sa.Enum("male", "female", name="voicegender", native_enum=False, length=32),
            nullable=True,
        ),
        sa.Column("audio_8k_key", sa.String(length=1024), nullable=False),
        sa.Column("audio_16k_key", sa.String(length=1024), nullable=False),
        sa.Column("original_key", sa.String(length=1024), nullable=True),
        sa.Column("original_filename", sa.String(length=255), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_announcements_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcements")),
        sa.UniqueConstraint("org_id", "name", name=op.f("uq_announcements_org_id_name")),
    )
    op.create_index(op.f("ix_announcements_org_id"), "announcements", ["org_id"], unique=False)
    op.create_table(
        "consent_settings",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("ask_prompt_text", sa.Text(), nullable=True),
        sa.Column("prompt_voice", sa.String(length=64), nullable=True),
        sa.Column("ask_timeout_s", sa.Integer(), nullable=False),
        sa.Column(
            "no_answer",
            sa.Enum("record", "do_not_record", name="noanswer", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["orgs.id"],
            name=op.f("fk_consent_settings_org_id_orgs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_consent_settings")),
    )
    for table in LEVELS:
        _add_announcement_fk(table)


def downgrade() -> None:
    for table in LEVELS:
        _drop_announcement_fk(table)
    op.drop_table("consent_settings")
    op.drop_index(op.f("ix_announcements_org_id"), table_name="announcements")
    op.drop_table("announcements")


# SQLite cannot add a constraint to a column, and batch mode's copy-and-move would DROP these
# tables: with foreign keys enforced, that deletes every row pointing at them by ON DELETE
# CASCADE (an org's users, devices, calls...). So the column is dropped and added again with
# its REFERENCES clause, which SQLite does in place. No value is lost: the settings service
# refused to store any announcement id before this revision, and none could point anywhere.


def _add_announcement_fk(table: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} DROP COLUMN rec_announcement_id")
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN rec_announcement_id CHAR(32) "
            f"CONSTRAINT {_fk_name(table)} REFERENCES announcements (id)"
        )
        return
    op.create_foreign_key(
        op.f(_fk_name(table)), table, "announcements", ["rec_announcement_id"], ["id"]
    )


def _drop_announcement_fk(table: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        # Assignments go with the announcements table this downgrade removes.
        op.execute(f"ALTER TABLE {table} DROP COLUMN rec_announcement_id")
        op.execute(f"ALTER TABLE {table} ADD COLUMN rec_announcement_id CHAR(32)")
        return
    op.drop_constraint(op.f(_fk_name(table)), table, type_="foreignkey")
