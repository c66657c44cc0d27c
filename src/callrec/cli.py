"""The `callrec` command. The only module importing typer/rich."""

from __future__ import annotations

import logging
import uuid
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from alembic import command
from alembic.config import Config
from rich.console import Console
from sqlalchemy.orm import Session

from callrec.access.rules import Role
from callrec.kit.db import make_engine, make_sessionmaker, session_scope
from callrec.kit.errors import CallrecError
from callrec.kit.settings import get_settings

app = typer.Typer(help="callrec: record, keep and play back business calls.", no_args_is_help=True)
console = Console(stderr=True)

Host = Annotated[str, typer.Option(help="Address to listen on.")]
Port = Annotated[int, typer.Option(help="HTTP port.")]


def alembic_config(url: str) -> Config:
    root = Path(__file__).resolve().parents[2]
    config = Config(str(root / "alembic.ini")) if (root / "alembic.ini").exists() else Config()
    config.set_main_option("script_location", str(root / "migrations"))
    config.attributes["url"] = url
    return config


@app.command()
def migrate() -> None:
    """Bring the database schema up to date (alembic upgrade head)."""
    url = get_settings().database_url_resolved
    command.upgrade(alembic_config(url), "head")
    console.print(f"[green]schema up to date[/] ({_safe(url)})")


@app.command("demo-data")
def demo_data() -> None:
    """Load the demo tenant (3 teams, 12 users with devices) unless it is already there."""
    from callrec.directory.demo import DEMO_ADMIN, DEMO_PASSWORD, demo_exists, load_demo

    factory = make_sessionmaker(make_engine(get_settings().database_url_resolved))
    with session_scope(factory) as session:
        if demo_exists(session):
            console.print("demo tenant already loaded")
            return
        load_demo(session)
    console.print(f"[green]demo tenant loaded[/]: sign in as {DEMO_ADMIN} / {DEMO_PASSWORD}")


@app.command()
def serve(host: Host = "127.0.0.1", port: Port = 8000, workers: int = 1) -> None:
    """Serve the API and UI (one of N API nodes in a scale-out deployment)."""
    uvicorn.run(
        "callrec.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_level="warning",
    )


@app.command()
def run(host: Host = "127.0.0.1", port: Port = 8000) -> None:
    """All in one: migrate, load the demo tenant into a new database, serve."""
    from callrec.directory.demo import DEMO_ADMIN, DEMO_PASSWORD

    migrate()
    demo_data()
    console.print(
        f"\n[bold]callrec[/] on http://{host}:{port}  ·  API docs http://{host}:{port}/api/v1/docs"
        f"\nsign in: POST /api/v1/auth/login with {DEMO_ADMIN} / {DEMO_PASSWORD}"
        "\n(or issue an API token: .venv/bin/callrec issue-token " + DEMO_ADMIN + ")\n"
    )
    serve(host=host, port=port, workers=1)


@app.command("create-org")
def create_org(name: str, slug: str, licences: Annotated[int, typer.Option(min=0)] = 0) -> None:
    """Create an org (tenant) with a number of call recording licences."""
    from callrec.directory.schemas import OrgCreate
    from callrec.directory.service import OrgService

    with _session() as session:
        org = OrgService(session).create(
            None, OrgCreate(name=name, slug=slug, licences_purchased=licences)
        )
        console.print(f"org {org.slug} created: {org.id}")


@app.command("create-user")
def create_user(
    org_slug: str,
    email: str,
    name: Annotated[str, typer.Option(help="Display name.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True)],
    role: Role = Role.USER,
    extension: str | None = None,
    licence: bool = False,
    platform_admin: bool = False,
) -> None:
    """Create a user in an org (platform admin only from here, never through the API)."""
    from callrec.directory.schemas import UserCreate
    from callrec.directory.service import UserService

    with _session() as session:
        org_id = _org_id(session, org_slug)
        user = UserService(session).create(
            None,
            org_id,
            UserCreate(
                email=email,
                display_name=name,
                password=password,
                role=role,
                extension=extension,
                has_licence=licence,
            ),
        )
        user.is_platform_admin = platform_admin
        console.print(f"user {user.email} created: {user.id}")


@app.command("issue-token")
def issue_token(email: str, name: str = "cli") -> None:
    """Issue an API token acting as a user; printed once, stored hashed."""
    from callrec.access.repository import CredentialRepository
    from callrec.access.service import AuthService, build_actor
    from callrec.kit.clock import SystemClock

    with _session() as session:
        user = CredentialRepository(session).user_by_email(email)
        if user is None:
            raise typer.BadParameter(f"no user with email {email}")
        issued = AuthService(session, SystemClock()).issue_token(build_actor(session, user), name)
        typer.echo(issued.secret)


def _session() -> AbstractContextManager[Session]:
    return session_scope(make_sessionmaker(make_engine(get_settings().database_url_resolved)))


def _org_id(session: Session, slug: str) -> uuid.UUID:
    from sqlalchemy import select

    from callrec.models import Org

    org_id = session.scalar(select(Org.id).where(Org.slug == slug))
    if org_id is None:
        raise typer.BadParameter(f"no org with slug {slug}")
    return org_id


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    try:
        app()
    except CallrecError as exc:
        console.print(f"[red]error[/]: {exc.message}")
        raise SystemExit(1) from exc
