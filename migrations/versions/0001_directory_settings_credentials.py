"""directory, settings, credentials

Revision ID: 0001
Revises:
Create Date: 2026-11-22 07:40:50.413313
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "orgs",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("licences_purchased", sa.Integer(), nullable=False),
        sa.Column(
            "rec_incoming",
            sa.Enum("on", "off", "inherit", name="toggle", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "rec_outgoing",
            sa.Enum("on", "off", "inherit", name="toggle", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "rec_outgoing_mode",
            sa.Enum(
                "record_all", "ask", "inherit", name="outgoingmode", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column(
            "rec_beep",
            sa.Enum("on", "off", "inherit", name="beepmode", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "rec_announcement",
            sa.Enum(
                "play", "none", "inherit", name="announcementmode", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rec_beep_interval_s", sa.Integer(), nullable=True),
        sa.Column("rec_announcement_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orgs")),
        sa.UniqueConstraint("slug", name=op.f("uq_orgs_slug")),
    )
    op.create_table(
        "teams",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "rec_incoming",
            sa.Enum("on", "off", "inherit", name="toggle", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "rec_outgoing",
            sa.Enum("on", "off", "inherit", name="toggle", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "rec_outgoing_mode",
            sa.Enum(
                "record_all", "ask", "inherit", name="outgoingmode", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column(
            "rec_beep",
            sa.Enum("on", "off", "inherit", name="beepmode", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("rec_beep_interval_s", sa.Integer(), nullable=True),
        sa.Column(
            "rec_announcement",
            sa.Enum(
                "play", "none", "inherit", name="announcementmode", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("rec_announcement_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_teams_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("org_id", "name", name=op.f("uq_teams_org_id_name")),
    )
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_teams_org_id"), ["org_id"], unique=False)

    op.create_table(
        "users",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("extension", sa.String(length=32), nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column(
            "role",
            sa.Enum("org_admin", "supervisor", "user", name="role", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("is_platform_admin", sa.Boolean(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("has_licence", sa.Boolean(), nullable=False),
        sa.Column(
            "management_scope",
            sa.Enum(
                "me", "teams", "everyone", name="managementscope", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column(
            "playback_scope",
            sa.Enum(
                "none",
                "own",
                "primary_group",
                "member_groups",
                "all",
                name="playbackscope",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("primary_team_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "rec_incoming",
            sa.Enum("on", "off", "inherit", name="toggle", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "rec_outgoing",
            sa.Enum("on", "off", "inherit", name="toggle", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "rec_outgoing_mode",
            sa.Enum(
                "record_all", "ask", "inherit", name="outgoingmode", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column(
            "rec_beep",
            sa.Enum("on", "off", "inherit", name="beepmode", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("rec_beep_interval_s", sa.Integer(), nullable=True),
        sa.Column(
            "rec_announcement",
            sa.Enum(
                "play", "none", "inherit", name="announcementmode", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("rec_announcement_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_users_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["primary_team_id"],
            ["teams.id"],
            name=op.f("fk_users_primary_team_id_teams"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
        sa.UniqueConstraint("org_id", "extension", name=op.f("uq_users_org_id_extension")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_org_id"), ["org_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_users_primary_team_id"), ["primary_team_id"], unique=False
        )

    op.create_table(
        "api_tokens",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_api_tokens_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "auth_sessions",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_auth_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_auth_sessions_token_hash")),
    )
    with op.batch_alter_table("auth_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_sessions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "devices",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sip_username", sa.String(length=128), nullable=False),
        sa.Column("aor", sa.String(length=320), nullable=False),
        sa.Column("extension", sa.String(length=32), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "rec_incoming",
            sa.Enum("on", "off", "inherit", name="toggle", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "rec_outgoing",
            sa.Enum("on", "off", "inherit", name="toggle", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "rec_outgoing_mode",
            sa.Enum(
                "record_all", "ask", "inherit", name="outgoingmode", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column(
            "rec_beep",
            sa.Enum("on", "off", "inherit", name="beepmode", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("rec_beep_interval_s", sa.Integer(), nullable=True),
        sa.Column(
            "rec_announcement",
            sa.Enum(
                "play", "none", "inherit", name="announcementmode", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("rec_announcement_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_devices_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_devices_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("org_id", "aor", name=op.f("uq_devices_org_id_aor")),
        sa.UniqueConstraint("org_id", "extension", name=op.f("uq_devices_org_id_extension")),
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_devices_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_devices_user_id"), ["user_id"], unique=False)

    op.create_table(
        "team_managers",
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_team_managers_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_team_managers_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("team_id", "user_id", name=op.f("pk_team_managers")),
    )
    op.create_table(
        "team_members",
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_team_members_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_team_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("team_id", "user_id", name=op.f("pk_team_members")),
    )
    for table in ("team_managers", "team_members"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f"ix_{table}_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    for table in ("team_managers", "team_members"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_user_id"))
    op.drop_table("team_members")
    op.drop_table("team_managers")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_devices_user_id"))
        batch_op.drop_index(batch_op.f("ix_devices_org_id"))

    op.drop_table("devices")
    with op.batch_alter_table("auth_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_sessions_user_id"))

    op.drop_table("auth_sessions")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))
        batch_op.drop_index(batch_op.f("ix_api_tokens_org_id"))

    op.drop_table("api_tokens")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_primary_team_id"))
        batch_op.drop_index(batch_op.f("ix_users_org_id"))

    op.drop_table("users")
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_teams_org_id"))

    op.drop_table("teams")
    op.drop_table("orgs")
