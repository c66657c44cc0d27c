"""create_app(): assembles the routers, error handlers and observability."""

from __future__ import annotations

import gc
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException

from callrec import __version__
from callrec.access.endpoints import router as access_router
from callrec.access.ratelimit import LoginLimiter
from callrec.audit.endpoints import router as audit_router
from callrec.calls.endpoints import router as calls_router
from callrec.calls.session_endpoints import router as session_router
from callrec.consent.endpoints import router as consent_router
from callrec.directory.endpoints import router as directory_router
from callrec.directory.recording_endpoints import router as settings_router
from callrec.kit.errors import CallrecError
from callrec.kit.logging import configure_logging
from callrec.kit.observability import HttpMetrics, ObservabilityMiddleware
from callrec.kit.settings import Settings, get_settings
from callrec.recordings.endpoints import router as recordings_router
from callrec.recordings.metrics import PIPELINE, BacklogCollector
from callrec.recordings.playback_endpoints import router as playback_router
from callrec.worker.bootstrap import build_runtime
from callrec.worker.runtime import Runtime

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """Without a runtime (``callrec serve``, uvicorn's factory) one is built from the
    environment: database, blob store and the queue jobs are sent to."""
    settings = settings or get_settings()
    configure_logging(json=settings.log_json, level=logging.getLevelName(settings.log_level))
    runtime = runtime or build_runtime(settings)
    clock, session_factory = runtime.clock, runtime.sessionmaker

    app = FastAPI(
        lifespan=_lifespan,
        title="callrec",
        version=__version__,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.sessionmaker = session_factory
    app.state.blobs = runtime.blobs
    app.state.runtime = runtime
    app.state.login_limiter = LoginLimiter(
        clock, settings.login_max_failures, settings.login_window_seconds
    )
    registry = CollectorRegistry()
    registry.register(BacklogCollector(session_factory))
    app.state.metrics_registry = registry

    for router in (
        access_router,
        directory_router,
        settings_router,
        calls_router,
        recordings_router,
        session_router,
        playback_router,
        consent_router,
        audit_router,
    ):
        app.include_router(router, prefix=API_PREFIX)
    _add_probes(app, registry)
    _add_error_handlers(app)
    app.add_middleware(
        ObservabilityMiddleware, metrics=HttpMetrics(registry), api_prefix=API_PREFIX
    )
    return app


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    # Everything imported and built so far lives for the whole process: move it out of the
    # collector's generations so full collections stop walking it (fewer latency spikes).
    gc.collect()
    gc.freeze()
    yield


def _add_probes(app: FastAPI, registry: CollectorRegistry) -> None:
    @app.get("/healthz", include_in_schema=False)
    def healthz(request: Request) -> dict[str, str]:
        with request.app.state.sessionmaker() as session:
            session.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__}

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        body = generate_latest(registry) + generate_latest(PIPELINE)
        return Response(body, media_type=CONTENT_TYPE_LATEST)


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CallrecError)
    def domain_error(_request: Request, exc: CallrecError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message, exc.details), exc.status_code)

    @app.exception_handler(RequestValidationError)
    def invalid_payload(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        if any(e["type"] == "json_invalid" for e in errors):
            return JSONResponse(error_body("malformed_json", "the body is not valid JSON"), 400)
        first = errors[0] if errors else {"loc": [], "msg": "invalid"}
        where = ".".join(str(p) for p in first["loc"] if p != "body")
        message = f"{where}: {first['msg']}" if where else str(first["msg"])
        return JSONResponse(
            error_body(
                "invalid_payload", message, {"errors": json.loads(json.dumps(errors, default=str))}
            ),
            422,
        )

    @app.exception_handler(StarletteHTTPException)
    def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), exc.status_code, headers=exc.headers)
