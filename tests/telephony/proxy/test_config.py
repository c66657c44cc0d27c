"""The proxy's configuration: the allowlist (never an open relay), routing by the dialled user
part then the upstream, and the CLI/settings syntax for routes and host:port."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from callrec.cli import app
from callrec.telephony.proxy import ProxyConfig
from callrec.telephony.proxy.config import parse_hostport, parse_routes
from callrec.telephony.runner import MediaThread
from callrec.telephony.sip import SipResponse, SipUri, parse_message
from callrec.telephony.srs import SrsConfig
from tests.telephony.proxy.harness import free_port, proxy_world


def test_only_allowed_networks_may_send_calls() -> None:
    config = ProxyConfig(allow=("10.0.0.0/24", "192.0.2.7"))
    assert config.allowed("10.0.0.9") and config.allowed("192.0.2.7")
    assert not config.allowed("10.0.1.1") and not config.allowed("127.0.0.1")
    assert not config.allowed("not-an-address")


def test_routes_by_user_part_then_upstream() -> None:
    config = ProxyConfig(routes={"201": ("10.0.0.10", 5060)}, upstream=("10.0.0.20", 5080))
    assert config.route(SipUri.parse("sip:201@proxy.example.com")) == ("10.0.0.10", 5060)
    assert config.route(SipUri.parse("sip:201;phone-context=x@10.0.0.5")) == ("10.0.0.10", 5060)
    assert config.route(SipUri.parse("sip:+15550001@proxy")) == ("10.0.0.20", 5080)
    assert ProxyConfig().route(SipUri.parse("sip:999@proxy")) is None


def test_route_and_address_syntax() -> None:
    assert parse_routes("201=127.0.0.1:5080, 202=[::1]:5060,") == {
        "201": ("127.0.0.1", 5080), "202": ("::1", 5060)
    }  # fmt: skip
    assert parse_hostport("10.0.0.1:5060") == ("10.0.0.1", 5060)
    for bad in ("201", "201=host.example.com:5060", "=1.2.3.4:5", "201=1.2.3.4:0"):
        with pytest.raises(ValueError, match=r"host:port|does not appear|out of range|EXTEN"):
            parse_routes(bad)


def test_bad_proxy_options_are_refused_by_the_cli() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["media", "--mode", "proxy", "--route", "201=nowhere"])
    assert result.exit_code == 2 and "host:port" in result.output
    result = runner.invoke(app, ["media", "--mode", "sideways"])
    assert result.exit_code == 2 and "srs, proxy or both" in result.output


def test_the_srs_and_the_proxy_run_on_one_loop(tmp_path: Path) -> None:
    """``--mode both``: each answers OPTIONS on its own port (the proxy allows INFO/REFER)."""
    for world in proxy_world(tmp_path):
        srs_port = free_port(socket.SOCK_STREAM)
        base = 40000 + (srs_port % 400) * 20
        srs = SrsConfig(sip_port=srs_port, rtp_first=base, rtp_last=base + 19)
        both = MediaThread(world.runtime, srs, ProxyConfig(sip_port=free_port(socket.SOCK_STREAM)))
        try:
            both.start()
        except OSError:
            both.abandon()
            pytest.fail("ports taken")
        try:
            assert both.proxy is not None and both.server is not None
            allows = [_options(port) for port in (srs_port, both.proxy.config.sip_port)]
        finally:
            both.stop()
        assert "REFER" not in allows[0] and "REFER" in allows[1]


def _options(port: int) -> str:
    request = (
        f"OPTIONS sip:ping@127.0.0.1:{port} SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKping\r\nFrom: <sip:t@x>;tag=1\r\n"
        "To: <sip:ping@x>\r\nCall-ID: ping@test\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
        "Content-Length: 0\r\n\r\n"
    )
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.sendto(request.encode(), ("127.0.0.1", port))
        response = parse_message(sock.recv(4096))
    assert isinstance(response, SipResponse) and response.status == 200
    return ", ".join(response.headers.get_all("Allow"))
