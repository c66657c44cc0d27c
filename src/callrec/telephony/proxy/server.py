"""The recording proxy (a B2BUA): the SIP endpoint every proxied call shares — listener, server
and client transactions, the RTP port pool, the spool — and the dispatch of requests to calls.

A new INVITE is accepted only from an allowed peer (``ProxyConfig.allow``): anyone else gets
``403`` and a ``proxy.refused_source`` log line, so the proxy is never an open relay. Requests
inside a call must come from an allowed peer or from the party of that leg.
"""

from __future__ import annotations

import asyncio
import gc
import secrets
import time

from callrec.kit.logging import get_logger
from callrec.telephony import capture_store
from callrec.telephony.client_transactions import (
    ClientTransaction,
    ClientTransactions,
    Destination,
    OnResponse,
    new_branch,
)
from callrec.telephony.proxy.call import ProxiedCall
from callrec.telephony.proxy.config import ProxyConfig
from callrec.telephony.proxy.legs import Leg
from callrec.telephony.rtp_endpoint import PortPool
from callrec.telephony.sip import SipRequest, SipResponse
from callrec.telephony.transactions import ServerTransaction, TransactionLayer
from callrec.telephony.transport import Address, Peer, SipListener
from callrec.worker.runtime import Runtime

log = get_logger("callrec.proxy")
ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, REFER, NOTIFY, UPDATE"


class RecordingProxy:
    def __init__(self, runtime: Runtime, config: ProxyConfig) -> None:
        self.rt = runtime
        self.config = config
        self.ports = PortPool(config.rtp_first, config.rtp_last)
        self.calls: dict[str, ProxiedCall] = {}  # by the Call-ID of each of their legs
        self.transactions = TransactionLayer(self._handle, new_tag)
        self.transactions.on_response = self._on_response
        self.clients = ClientTransactions()
        self.listener = SipListener(self.transactions.on_message, config.host, config.sip_port)
        self.spool = runtime.settings.data_dir / "spool"
        self._watchdog: asyncio.Task[None] | None = None
        self.refused = 0

    async def start(self, recover: bool = True) -> None:
        """``recover``: finish what a crashed run left in the spool first (as the SIPREC
        server does); off when another server of this process already did."""
        self.spool.mkdir(parents=True, exist_ok=True)
        if recover:
            recovered = await asyncio.to_thread(capture_store.recover_spool, self.rt, self.spool)
            if recovered:
                log.warning("proxy.recovered_captures", count=recovered)
        # Everything loaded so far (the app, the database layer: some 160,000 objects) lives as
        # long as the process: out of the collector's generations, a full collection no longer
        # walks it on the event loop (100-200 ms each with a few hundred calls up, every packet
        # of every call held up meanwhile).
        gc.collect()
        gc.freeze()
        await self.listener.start()
        # Warm the consent context up in the background: its first import takes seconds.
        asyncio.get_running_loop().run_in_executor(None, _warm_up)
        self._watchdog = asyncio.get_running_loop().create_task(self._rtp_timeouts())
        log.info("proxy.listening", host=self.config.host, port=self.config.sip_port,
                 routes=len(self.config.routes), upstream=self.config.upstream)  # fmt: skip

    async def stop(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        for call in list({id(c): c for c in self.calls.values()}.values()):
            await call.shut_down()
        await self.listener.stop()
        await self.transactions.close()
        self.clients.close()

    # Signalling helpers the calls use.

    @property
    def via_host(self) -> str:
        return f"{self.config.host}:{self.listener.bound_port}"

    def via(self) -> str:
        return f"SIP/2.0/UDP {self.via_host};branch={new_branch()};rport"

    def contact(self) -> str:
        return f"<sip:callrec@{self.via_host}>"

    def send_udp(self, data: bytes, addr: Address) -> None:
        self.listener.send_udp(data, addr)

    def udp(self, addr: Address) -> Destination:
        return Destination(addr, lambda data: self.listener.send_udp(data, addr))

    def send(
        self, request: SipRequest, dest: Destination, on_response: OnResponse | None = None
    ) -> ClientTransaction:
        return self.clients.send(request, dest, on_response)

    def in_dialog(
        self, leg: Leg, method: str, headers: list[tuple[str, str]] | None = None,
        body: bytes = b"", on_response: OnResponse | None = None,
    ) -> ClientTransaction:  # fmt: skip
        assert leg.dialog is not None
        request = leg.dialog.request(method, self.via(), headers, body)
        return self.send(request, leg.destination(self.send_udp), on_response)

    def register(self, call_id: str, call: ProxiedCall) -> None:
        self.calls[call_id] = call

    def forget_id(self, call_id: str) -> None:
        self.calls.pop(call_id, None)

    def forget(self, call: ProxiedCall) -> None:
        for key in [k for k, c in self.calls.items() if c is call]:
            del self.calls[key]

    # Dispatch.

    def _on_response(self, response: SipResponse, peer: Peer) -> None:
        self.clients.on_response(response)

    async def _handle(self, tx: ServerTransaction) -> None:
        request = tx.request
        call = self.calls.get(request.call_id)
        if request.method == "INVITE" and request.to.tag is None:
            if call is not None:
                tx.reply(482, "Loop Detected")  # the same call back through us: a routing loop
                return
            if not self._trusted(tx.peer, None):
                self.refused += 1
                log.warning("proxy.refused_source", source=tx.peer.addr[0],
                            call_id=request.call_id, to=str(request.uri))  # fmt: skip
                reason = 'SIP;cause=403;text="not an allowed peer"'
                tx.reply(403, "Forbidden", headers=[("Reason", reason)])
                return
            call = ProxiedCall(self, tx)
            await call.run()
            return
        if request.method == "OPTIONS":
            tx.reply(200, headers=[("Allow", ALLOW), ("Accept", "application/sdp")])
            return
        if call is None:
            tx.reply(481, "Call/Transaction Does Not Exist")
            return
        if not self._trusted(tx.peer, call.leg_of(request.call_id)):
            log.warning("proxy.refused_in_dialog", source=tx.peer.addr[0],
                        call_id=request.call_id, method=request.method)  # fmt: skip
            tx.reply(403, "Forbidden")
            return
        await call.on_request(tx)

    def _trusted(self, peer: Peer, leg: Leg | None) -> bool:
        if self.config.allowed(peer.addr[0]):
            return True
        return leg is not None and leg.address[0] == peer.addr[0]

    async def _rtp_timeouts(self) -> None:
        """A call whose parties both stopped sending RTP (no BYE) ends after the timeout."""
        while True:
            await asyncio.sleep(1.0)
            now = time.monotonic()
            for call in {id(c): c for c in self.calls.values()}.values():
                if call.silent_for(now) > self.config.rtp_timeout_s:
                    log.warning("proxy.rtp_timeout", call_id=call.call_id)
                    await call.hang_up(None, "rtp_timeout")


def _warm_up() -> None:
    import callrec.consent.playout  # noqa: F401


def new_tag() -> str:
    return secrets.token_hex(6)
