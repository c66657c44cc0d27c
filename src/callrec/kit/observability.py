"""Request metrics (Prometheus) and one structured log line per request, as plain ASGI
middleware (BaseHTTPMiddleware would add a task hop to every request)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callrec.kit.logging import get_logger

log = get_logger("callrec.http")


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "callrec_http_requests",
            "HTTP requests",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "callrec_http_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=registry,
        )


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp, metrics: HttpMetrics, api_prefix: str = "") -> None:
        self.app = app
        self.metrics = metrics
        self.api_prefix = api_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope, self.api_prefix)
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()
            self.metrics.latency.labels(scope["method"], route).observe(elapsed)
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                route=route,
                status=status,
                ms=round(elapsed * 1000, 2),
            )


def _route_template(scope: Scope, api_prefix: str) -> str:
    """The route's template (``/api/v1/users/{user_id}``) keeps label cardinality bounded.
    Routers included under a prefix report their path without it, so it is put back."""
    template = getattr(scope.get("route"), "path", None)
    if not isinstance(template, str) or not template:
        return "unmatched"
    path: str = scope["path"]
    if api_prefix and path.startswith(api_prefix) and not template.startswith(api_prefix):
        return api_prefix + template
    return template
