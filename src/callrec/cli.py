"""The `callrec` command. The only module importing typer/rich."""

from __future__ import annotations

import logging
import uuid
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
from callrec.worker.runtime import Runtime

if TYPE_CHECKING:
    from callrec.telephony.runner import MediaThread
    from callrec.telephony.srs import SrsConfig

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
    """Load the demo tenant (3 teams, 12 users with devices, recorded calls) unless it is
    already there. Its recordings are processed by `callrec worker` (or `callrec run`)."""
    from callrec.worker.bootstrap import build_runtime

    _load_demo(build_runtime(get_settings()))


def _load_demo(runtime: Runtime) -> bool:
    from callrec.directory.demo import DEMO_ADMIN, DEMO_PASSWORD, DEMO_SLUG, demo_exists, load_demo
    from callrec.recordings.demo import load_demo_calls

    with session_scope(runtime.sessionmaker) as session:
        if demo_exists(session):
            console.print("demo tenant already loaded")
            return False
        load_demo(session)
    queued = load_demo_calls(runtime, DEMO_SLUG)
    console.print(
        f"[green]demo tenant loaded[/] with {queued} recordings queued for processing: "
        f"sign in as {DEMO_ADMIN} / {DEMO_PASSWORD}"
    )
    return True


@app.command()
def serve(host: Host = "127.0.0.1", port: Port = 8000, workers: int = 1) -> None:
    """Serve the API and UI (one of N API nodes in a scale-out deployment). Jobs go to the
    queue in CALLREC_QUEUE_URL; run `callrec worker` beside it."""
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
def worker(
    workers: Annotated[int, typer.Option(min=1, help="Worker threads.")] = 2,
    metrics_port: Annotated[int | None, typer.Option(help="Serve /metrics on this port.")] = None,
) -> None:
    """Process recordings from the queue (one of N workers in a scale-out deployment)."""
    from prometheus_client import start_http_server

    from callrec.kit.logging import configure_logging
    from callrec.recordings.metrics import PIPELINE
    from callrec.worker.bootstrap import build_runtime, run_worker

    settings = get_settings()
    configure_logging(json=settings.log_json, level=logging.getLevelName(settings.log_level))
    if metrics_port is not None:
        start_http_server(metrics_port, addr="127.0.0.1", registry=PIPELINE)
    run_worker(build_runtime(settings), workers)


@app.command()
def media(
    mode: Annotated[str, typer.Option(help="srs: a SIPREC recording server.")] = "srs",
    host: Annotated[str, typer.Option(help="Address for SIP and RTP.")] = "127.0.0.1",
    sip_port: Annotated[int, typer.Option(help="SIP port (UDP and TCP).")] = 5060,
    rtp_ports: Annotated[str, typer.Option(help="RTP port range, FIRST-LAST.")] = "20000-29999",
    allow: Annotated[
        list[str] | None, typer.Option(help="SRC addresses/networks allowed (repeatable).")
    ] = None,
    org: Annotated[str | None, typer.Option(help="Org slug the calls belong to.")] = None,
) -> None:
    """Record real SIP calls: a SIPREC recording server (the SBC/PBX sends the streams)."""
    from callrec.kit.logging import configure_logging
    from callrec.telephony.runner import run_media
    from callrec.worker.bootstrap import build_runtime

    if mode != "srs":
        raise typer.BadParameter("only --mode srs exists so far (the proxy comes next)")
    settings = get_settings()
    configure_logging(json=settings.log_json, level=logging.getLevelName(settings.log_level))
    run_media(build_runtime(settings), _srs_config(host, sip_port, rtp_ports, allow, org))


def _srs_config(
    host: str, sip_port: int, rtp_ports: str, allow: list[str] | None, org: str | None
) -> SrsConfig:
    from callrec.telephony.srs import SrsConfig

    try:
        first, last = (int(p) for p in rtp_ports.split("-", 1))
    except ValueError as exc:
        raise typer.BadParameter(f"--rtp-ports must be FIRST-LAST, not {rtp_ports!r}") from exc
    return SrsConfig(host=host, sip_port=sip_port, rtp_first=first, rtp_last=last,
                     allow=tuple(allow or ("127.0.0.0/8", "::1/128")), org_slug=org)  # fmt: skip


@app.command()
def run(host: Host = "127.0.0.1", port: Port = 8000) -> None:
    """All in one: migrate, load the demo tenant into a new database, process recordings in
    this process, serve."""
    from callrec.app import create_app
    from callrec.directory.demo import DEMO_ADMIN, DEMO_PASSWORD
    from callrec.worker.bootstrap import EmbeddedWorker, build_runtime

    migrate()
    settings = get_settings()
    runtime = build_runtime(settings)
    embedded = EmbeddedWorker(runtime, settings.embedded_workers)
    embedded.start()
    media = _start_media(runtime, settings.sip_port, settings.rtp_ports)
    if _load_demo(runtime) and media is not None:
        _demo_siprec_calls(settings.sip_port)
    console.print(
        f"\n[bold]callrec[/] on http://{host}:{port}  ·  API docs http://{host}:{port}/api/v1/docs"
        f"\nsign in: POST /api/v1/auth/login with {DEMO_ADMIN} / {DEMO_PASSWORD}"
        "\n(or issue an API token: .venv/bin/callrec issue-token " + DEMO_ADMIN + ")\n"
    )
    try:
        uvicorn.run(
            create_app(settings, runtime), host=host, port=port, access_log=False,
            log_level="warning",
        )  # fmt: skip
    finally:
        if media is not None:
            media.stop()
        embedded.stop()


def _demo_siprec_calls(sip_port: int) -> None:
    """A few real SIPREC calls through the server just started, in the background: the demo's
    newest recordings come through the real path (one is declined by policy: Billing does not
    record incoming calls)."""
    import asyncio
    import threading

    from callrec.telephony.src_client import DemoCall, place_call

    calls = [
        DemoCall("tel:+441632960101", "Customer", "sip:carol@demo.example.com", "Carol", 12, 1),
        DemoCall("tel:+441632960102", "Customer", "sip:dan@demo.example.com", "Dan", 15, 2),
        DemoCall("tel:+441632960103", "Customer", "sip:grace@demo.example.com", "Grace", 5, 3),
    ]

    async def place_all() -> None:
        statuses = await asyncio.gather(
            *(place_call("127.0.0.1", sip_port, call) for call in calls), return_exceptions=True
        )
        for call, status in zip(calls, statuses, strict=True):
            console.print(f"demo SIPREC call to {call.callee_name}: {status}")

    threading.Thread(target=lambda: asyncio.run(place_all()), daemon=True).start()


def _start_media(runtime: Runtime, sip_port: int, rtp_ports: str) -> MediaThread | None:
    """The SIPREC recording server in this process; a taken port is a warning, not a failure
    of the whole demo."""
    from callrec.telephony.runner import MediaThread

    if not sip_port:
        return None
    config = _srs_config("127.0.0.1", sip_port, rtp_ports, allow=None, org=None)
    media = MediaThread(runtime, config)
    try:
        media.start()
    except OSError as exc:
        console.print(f"[yellow]SIPREC server not started[/] (port {sip_port}: {exc.strerror})")
        return None
    console.print(f"SIPREC recording server on sip:127.0.0.1:{sip_port} (UDP and TCP)")
    return media


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


recordings_app = typer.Typer(help="Recording pipeline administration.", no_args_is_help=True)
app.add_typer(recordings_app, name="recordings")


@app.command("import")
def import_files(
    paths: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, readable=True)],
    org: Annotated[str, typer.Option(help="Org slug the calls belong to.")],
    extension: Annotated[str | None, typer.Option(help="Device or user extension.")] = None,
) -> None:
    """Import recordings made elsewhere (WAV, MP3, Ogg/Opus, CREC): one call per file."""
    from rich.progress import Progress

    from callrec.recordings.importer import import_file
    from callrec.worker.bootstrap import build_runtime

    runtime = build_runtime(get_settings())
    with runtime.sessionmaker() as session:
        org_id = _org_id(session, org)
    failures = 0
    with Progress(console=console) as progress:
        task = progress.add_task("importing", total=len(paths))
        for path in paths:
            try:
                recording = import_file(runtime, org_id, path, extension=extension)
                progress.console.print(f"{path.name}: recording {recording.id} ({recording.state})")
            except CallrecError as exc:
                failures += 1
                progress.console.print(f"[red]{path.name}[/]: {exc.message}")
            progress.advance(task)
    console.print(f"{len(paths) - failures} queued for processing, {failures} refused")
    if failures:
        raise typer.Exit(1)


@app.command()
def reprocess(
    recording_id: Annotated[uuid.UUID | None, typer.Argument()] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Every failed recording.")] = False,
) -> None:
    """Process a recording again from its stored source (a failed one, or all failed ones)."""
    from callrec.recordings.repository import RecordingRepository
    from callrec.recordings.service import RecordingService
    from callrec.worker.bootstrap import build_runtime

    if (recording_id is None) == (not failed):
        raise typer.BadParameter("give a recording id or --failed")
    runtime = build_runtime(get_settings())
    with session_scope(runtime.sessionmaker) as session:
        ids = [recording_id] if recording_id else list(RecordingRepository(session).failed_ids())
        service = RecordingService(session, runtime.clock, runtime.settings)
        for rid in ids:
            service.reprocess(rid)
    console.print(f"{len(ids)} recording(s) queued for processing")


@app.command()
def verify() -> None:
    """Re-hash every stored recording; report mismatches and missing blobs (exit 1 if any)."""
    from callrec.recordings.verify import verify_all
    from callrec.worker.bootstrap import build_runtime

    runtime = build_runtime(get_settings())
    report = verify_all(runtime)
    for problem in report.problems:
        console.print(f"[red]{problem}[/]")
    console.print(f"{report.checked} recording(s) checked, {len(report.problems)} problem(s)")
    if report.problems:
        raise typer.Exit(1)


@recordings_app.command("status")
def recordings_status() -> None:
    """Recordings by state, the backlog and SLA breaches."""
    from rich.table import Table

    from callrec.recordings.repository import RecordingRepository
    from callrec.worker.bootstrap import build_runtime

    runtime = build_runtime(get_settings())
    with runtime.sessionmaker() as session:
        repo = RecordingRepository(session)
        counts, breached = repo.count_by_state(), repo.count_breached()
    table = Table("state", "recordings")
    for state in ("capturing", "captured", "processing", "ready", "failed"):
        table.add_row(state, str(counts.get(state, 0)))
    Console().print(table)
    backlog = sum(counts.get(s, 0) for s in ("capturing", "captured", "processing"))
    console.print(f"backlog {backlog}, SLA breaches {breached}")


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
