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
    from callrec.kit.settings import Settings
    from callrec.telephony.proxy import ProxyConfig
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
    mode: Annotated[
        str, typer.Option(help="srs: a SIPREC recording server; proxy: the recording proxy "
                               "(B2BUA, docs/proxy.md); both: the two on one event loop.")
    ] = "srs",
    host: Annotated[str, typer.Option(help="Address for SIP and RTP.")] = "127.0.0.1",
    sip_port: Annotated[int, typer.Option(help="SIPREC server SIP port (UDP and TCP).")] = 5060,
    rtp_ports: Annotated[str, typer.Option(help="SIPREC RTP port range, FIRST-LAST.")] = (
        "20000-29999"
    ),
    allow: Annotated[
        list[str] | None,
        typer.Option(help="Peers allowed to send SIPREC sessions or calls (address or "
                          "network, repeatable; default loopback)."),
    ] = None,
    org: Annotated[str | None, typer.Option(help="Org slug the calls belong to.")] = None,
    proxy_port: Annotated[int, typer.Option(help="Recording proxy SIP port (UDP and TCP).")] = (
        5070
    ),
    proxy_rtp_ports: Annotated[
        str, typer.Option(help="Recording proxy RTP port range, FIRST-LAST.")
    ] = "30000-39999",
    upstream: Annotated[
        str | None, typer.Option(help="host:port where proxied calls not in a route go.")
    ] = None,
    route: Annotated[
        list[str] | None,
        typer.Option(help="EXTENSION=host:port: where proxied calls to that number go "
                          "(repeatable)."),
    ] = None,
) -> None:  # fmt: skip
    """Record real SIP calls: a SIPREC recording server (the SBC/PBX sends the streams), a
    recording proxy in the call path (consent media, beeps), or both."""
    from callrec.kit.logging import configure_logging
    from callrec.telephony.runner import run_media
    from callrec.worker.bootstrap import build_runtime

    if mode not in ("srs", "proxy", "both"):
        raise typer.BadParameter(f"--mode must be srs, proxy or both, not {mode!r}")
    srs = _srs_config(host, sip_port, rtp_ports, allow, org) if mode != "proxy" else None
    proxy = None
    if mode != "srs":
        routes = ",".join(route or [])
        proxy = _proxy_config(host, proxy_port, proxy_rtp_ports, allow, org, upstream, routes)
    settings = get_settings()
    configure_logging(json=settings.log_json, level=logging.getLevelName(settings.log_level))
    run_media(build_runtime(settings), srs, proxy)


def _port_range(text: str, option: str) -> tuple[int, int]:
    try:
        first, last = (int(p) for p in text.split("-", 1))
    except ValueError as exc:
        raise typer.BadParameter(f"{option} must be FIRST-LAST, not {text!r}") from exc
    return first, last


def _srs_config(
    host: str, sip_port: int, rtp_ports: str, allow: list[str] | None, org: str | None
) -> SrsConfig:
    from callrec.telephony.srs import SrsConfig

    first, last = _port_range(rtp_ports, "--rtp-ports")
    return SrsConfig(host=host, sip_port=sip_port, rtp_first=first, rtp_last=last,
                     allow=tuple(allow or ("127.0.0.0/8", "::1/128")), org_slug=org)  # fmt: skip


def _proxy_config(
    host: str, port: int, rtp_ports: str, allow: list[str] | None, org: str | None,
    upstream: str | None, routes: str,
) -> ProxyConfig:  # fmt: skip
    from callrec.telephony.proxy import ProxyConfig
    from callrec.telephony.proxy.config import parse_hostport, parse_routes

    first, last = _port_range(rtp_ports, "--proxy-rtp-ports")
    try:
        return ProxyConfig(
            host=host, sip_port=port, rtp_first=first, rtp_last=last,
            upstream=parse_hostport(upstream) if upstream else None,
            routes=parse_routes(routes), allow=tuple(allow or ("127.0.0.0/8", "::1/128")),
            org_slug=org,
        )  # fmt: skip
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


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
    media = _start_media(runtime, settings)
    loaded = _load_demo(runtime)
    if loaded and media is not None and media.server is not None:
        _demo_siprec_calls(settings.sip_port)
    if loaded and media is not None and media.proxy is not None and not settings.proxy_upstream:
        _demo_proxy_calls(settings.proxy_port)
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


def _demo_proxy_calls(proxy_port: int) -> None:
    """Real calls through the recording proxy just started, between the demo's own phones, in
    the background: an announcement, ask-to-record answered 1 and 0, a beep every 15 s."""
    from callrec.telephony.proxy_demo import DEMO_PHONES_PORT, start_proxy_demo_calls

    start_proxy_demo_calls(proxy_port, DEMO_PHONES_PORT, console.print)


def _start_media(runtime: Runtime, settings: Settings) -> MediaThread | None:
    """The SIPREC recording server and the recording proxy in this process; a taken port is a
    warning, not a failure of the whole demo (the other server still starts)."""
    from callrec.telephony.runner import MediaThread

    srs = None
    if settings.sip_port:
        srs = _srs_config("127.0.0.1", settings.sip_port, settings.rtp_ports, None, None)
    proxy = None
    if settings.proxy_port:
        from callrec.telephony.proxy_demo import DEMO_PHONES_PORT

        # Without an upstream of its own, `run`'s proxy sends calls to the demo's phones.
        upstream = settings.proxy_upstream or f"127.0.0.1:{DEMO_PHONES_PORT}"
        proxy = _proxy_config(
            "127.0.0.1", settings.proxy_port, settings.proxy_rtp_ports, None, None, upstream,
            settings.proxy_routes,
        )  # fmt: skip
    attempts = [(srs, proxy)] + ([(srs, None), (None, proxy)] if srs and proxy else [])
    for srs_config, proxy_config in attempts:
        if srs_config is None and proxy_config is None:
            continue
        media = MediaThread(runtime, srs_config, proxy_config)
        try:
            media.start()
        except OSError as exc:
            media.abandon()
            console.print(f"[yellow]media server not started[/] ({exc.strerror or exc})")
            continue
        if srs_config is not None:
            console.print(f"SIPREC recording server on sip:127.0.0.1:{srs_config.sip_port} "
                          "(UDP and TCP)")  # fmt: skip
        if proxy_config is not None:
            console.print(f"recording proxy on sip:127.0.0.1:{proxy_config.sip_port} "
                          f"({len(proxy_config.routes)} routes, upstream "
                          f"{proxy_config.upstream or 'none'})")  # fmt: skip
        return media
    return None


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


# --- the audit log (callrec.audit, docs/audit.md) -------------------------------------------

audit_app = typer.Typer(
    help="The audit log: verify its hash chain, query its events.", no_args_is_help=True
)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(
    anchor: Annotated[
        str | None,
        typer.Option(help="SEQ:HASH of a head printed earlier and kept outside the database: "
                          "also catches events cut from the end or a rewritten chain."),
    ] = None,
) -> None:  # fmt: skip
    """Re-hash the whole audit chain: OK with the event count, or the first broken link (which
    event, and why: edited, deleted, inserted, reordered, broken_link; against an anchor also
    truncated, rewritten) with exit status 1."""
    from callrec.audit.service import AuditService, parse_anchor

    try:
        expected = parse_anchor(anchor) if anchor else None
    except CallrecError as exc:
        raise typer.BadParameter(exc.message) from exc
    engine = make_engine(get_settings().database_url_resolved)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            result = AuditService(session).verify(None, expected)
    finally:
        engine.dispose()
    if result.broken is None:
        head = "empty" if result.head_seq is None else f"head #{result.head_seq} {result.head_hash}"
        typer.echo(f"OK: {result.count} events, the chain is intact ({head})")
        return
    broken = result.broken
    typer.echo(f"BROKEN at event #{broken.seq} ({broken.kind}): {broken.message}")
    typer.echo(f"the {result.count} events before it are intact")
    raise typer.Exit(1)


@audit_app.command("query")
def audit_query(
    user: Annotated[str | None, typer.Option(help="Email: events by or about this user.")] = None,
    call: Annotated[uuid.UUID | None, typer.Option(help="Events about this call.")] = None,
    since: Annotated[
        str | None, typer.Option(help="From this time, inclusive (ISO 8601; no zone: UTC).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Before this time (ISO 8601).")] = None,
    action: Annotated[str | None, typer.Option(help="e.g. auth.login_failed.")] = None,
    org: Annotated[str | None, typer.Option(help="Org slug (default: every org).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many events.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Audit events, newest first, by user, call, action and time."""
    import json

    from rich.table import Table

    from callrec.audit.schemas import AuditEventRead
    from callrec.audit.service import AuditAction, AuditService, EventFilter, parse_instant

    if action is not None and action not in {a.value for a in AuditAction}:
        valid = ", ".join(a.value for a in AuditAction)
        raise typer.BadParameter(f"unknown action {action!r}; one of: {valid}")
    try:
        start = parse_instant(since, "--since") if since else None
        end = parse_instant(until, "--until") if until else None
    except CallrecError as exc:
        raise typer.BadParameter(exc.message) from exc
    engine = make_engine(get_settings().database_url_resolved)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            wanted = EventFilter(
                org_id=_org_id(session, org) if org else None,
                user_id=_audit_user_id(session, user) if user else None,
                call_id=call,
                action=action,
                since=start,
                until=end,
            )
            service = AuditService(session)
            events = service.collect(wanted, limit)
            emails = service.actor_emails(events)
    finally:
        engine.dispose()
    rows = [AuditEventRead.model_validate(e).model_dump(mode="json") for e in events]
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row, sort_keys=True))
        return
    table = Table("seq", "when (UTC)", "action", "actor", "subject", "call", "client", "details")
    for row in rows:
        actor = emails.get(row["actor_id"], row["actor_id"]) if row["actor_id"] else "-"
        table.add_row(
            str(row["seq"]), row["occurred_at"][:19], row["action"], actor,
            row["subject"] or "-", row["call_id"] or "-", row["client"] or "-",
            json.dumps(row["details"], sort_keys=True),
        )  # fmt: skip
    Console(width=200).print(table)
    console.print(f"{len(rows)} event(s)")


def _audit_user_id(session: Session, email: str) -> uuid.UUID:
    from callrec.access.repository import CredentialRepository

    user = CredentialRepository(session).user_by_email(email)
    if user is None:
        raise typer.BadParameter(f"no user with email {email}")
    return user.id


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
