"""The demo's calls through the recording proxy: real SIP calls between our own user agents, so
the demo shows the consent features end to end — an incoming call that hears the announcement
before it is put through, outgoing calls whose caller is asked and answers 1 (recorded) or 0 (put
through unrecorded), and a call long enough to hear the compliance beep.

The callers are ``ua.Caller``s sending to the proxy; the callees are one ``ua.CalleeAgent`` on
``callee_port``, which must be where the proxy sends these calls (its upstream in ``callrec
run``). Both parties talk (the synthetic voices of ``ua.audio.conversation``), so the recordings
hold a two-sided conversation. The parties are the demo tenant's (``directory/demo.py``): the org
records incoming calls and plays its announcement first; Carol (user level) and Support (Dan)
are asked on outgoing calls; Bob's recorded calls beep every 15 s.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from callrec.telephony.ua import Answer, Callee, CalleeAgent, Caller, SipEndpoint, conversation
from callrec.telephony.ua.caller import DigitVia

PRESS_AFTER_S = 2.0  # of the prompt heard before the caller presses the key
RING_S = 1.0


@dataclass(frozen=True)
class ProxyDemoCall:
    label: str
    caller: str  # From URI
    callee: str  # Request-URI and To
    seconds: float  # of conversation after the answer
    seed: int
    press: str | None = None  # the key the caller presses when asked to record
    via: DigitVia = "rfc4733"

    @property
    def callee_user(self) -> str:
        return self.callee.split(":", 1)[1].split("@", 1)[0]


@dataclass(frozen=True)
class ProxyDemoOutcome:
    call: ProxyDemoCall
    status: int  # the INVITE's final status at the caller
    early_media_s: float  # announcement or prompt heard before the answer
    heard_s: float  # audio the caller heard in all
    callee_heard_s: float
    error: str | None = None

    def describe(self) -> str:
        if self.error:
            return f"{self.call.label}: failed ({self.error})"
        return (
            f"{self.call.label}: {self.status}, {self.early_media_s:.1f} s of early media, "
            f"caller heard {self.heard_s:.1f} s, callee {self.callee_heard_s:.1f} s"
        )


DEMO_PHONES_PORT = 5080  # where `callrec run`'s proxy sends the demo's calls (its upstream)

DEMO_CALLS: tuple[ProxyDemoCall, ...] = (
    ProxyDemoCall("incoming call to Carol, announcement first",
                  "sip:+441632960201@trunk.example.com", "sip:carol@demo.example.com", 10, 11),
    ProxyDemoCall("Carol's outgoing call, asked, answered 1",
                  "sip:carol@demo.example.com", "sip:+441632960301@trunk.example.com", 8, 12,
                  press="1"),
    ProxyDemoCall("Dan's outgoing call, asked, answered 0 by SIP INFO",
                  "sip:dan@demo.example.com", "sip:+441632960302@trunk.example.com", 6, 13,
                  press="0", via="info"),
    ProxyDemoCall("Bob's outgoing call, beep every 15 s",
                  "sip:bob@demo.example.com", "sip:+441632960303@trunk.example.com", 35, 14),
)  # fmt: skip


async def place_proxy_demo_calls(
    proxy_host: str,
    proxy_port: int,
    callee_port: int,
    calls: Sequence[ProxyDemoCall] = DEMO_CALLS,
    host: str = "127.0.0.1",
) -> list[ProxyDemoOutcome]:
    """Place ``calls`` at the same time through the proxy, answer them on ``callee_port``, hang
    each up (the caller) after its conversation. One outcome per call, in order."""
    by_user = {call.callee_user: call for call in calls}

    def answering(callee: Callee) -> Answer:
        call = by_user.get(callee.tx.request.uri.user or "")
        if call is None:
            return Answer(status=404)
        return Answer(ring_s=RING_S, audio=conversation(_length(call), call.seed)[1])

    callers = await SipEndpoint.open(host)
    callees = await SipEndpoint.open(host, callee_port)
    agent = CalleeAgent(callees, answering)
    try:
        target = (proxy_host, proxy_port)
        placed = [_place(callers, target, call, agent) for call in calls]
        return list(await asyncio.gather(*placed))
    finally:
        await agent.close()
        await callers.close()
        await callees.close()


def _length(call: ProxyDemoCall) -> float:
    return call.seconds + 1.0


async def _place(
    endpoint: SipEndpoint, proxy: tuple[str, int], call: ProxyDemoCall, agent: CalleeAgent
) -> ProxyDemoOutcome:
    track = conversation(_length(call), call.seed)[0]
    caller = Caller(endpoint, proxy, call.callee, call.caller, audio=track)
    error = None
    try:
        await caller.start()
        if call.press is not None:
            await caller.wait_early(timeout=15)
            await asyncio.sleep(PRESS_AFTER_S)
            await caller.press(call.press, call.via)
        status = await caller.wait_answer(timeout=90)  # an announcement plays first
        if status == 200:
            await asyncio.wait_for(caller.ended.wait(), call.seconds)
    except TimeoutError:
        pass  # the conversation ran its course: we hang up
    except Exception as exc:  # the outcome reports it; the other demo calls go on
        error = f"{type(exc).__name__}: {exc}"
    finally:
        if caller.answered.is_set() and not caller.ended.is_set():
            await caller.hang_up()
        await caller.close()
    return _outcome(call, caller, agent, error)


def _outcome(
    call: ProxyDemoCall, caller: Caller, agent: CalleeAgent, error: str | None
) -> ProxyDemoOutcome:
    leg, answered_at = caller.leg, caller.answered_at
    packets = leg.audio_packets() if leg else []
    early = [p for p in packets if answered_at is None or p.at < answered_at]
    callee = next((c for c in agent.calls if c.tx.request.uri.user == call.callee_user), None)
    callee_packets = callee.leg.audio_packets() if callee and callee.leg else []
    return ProxyDemoOutcome(
        call, caller.status or 0, len(early) * 0.02, len(packets) * 0.02,
        len(callee_packets) * 0.02, error,
    )  # fmt: skip


def start_proxy_demo_calls(
    proxy_port: int,
    callee_port: int,
    report: Callable[[str], None] = print,
    proxy_host: str = "127.0.0.1",
) -> threading.Thread:
    """The demo's proxied calls in a background thread (for ``callrec run``): each outcome is
    reported in one line when all are done."""

    def run() -> None:
        try:
            outcomes = asyncio.run(place_proxy_demo_calls(proxy_host, proxy_port, callee_port))
        except OSError as exc:  # the callee port is taken: the demo goes on without these calls
            report(f"demo proxy calls not placed: {exc}")
            return
        for outcome in outcomes:
            report(f"demo proxy call, {outcome.describe()}")

    thread = threading.Thread(target=run, name="callrec-proxy-demo", daemon=True)
    thread.start()
    return thread
