"""Running the media servers — the SIPREC recording server, the recording proxy, or both on
one event loop: standalone (``callrec media``, uvloop, until a signal) or in a background
thread of another process (``callrec run``, tests)."""

from __future__ import annotations

import asyncio
import signal
import threading
from concurrent.futures import Future

import uvloop

from callrec.telephony.proxy import ProxyConfig, RecordingProxy
from callrec.telephony.srs import RecordingServer, SrsConfig
from callrec.worker.runtime import Runtime


class MediaServers:
    """The servers of one media process. They share the spool: it is recovered once, by the
    first to start, before either listens (a second recovery could take a live capture)."""

    def __init__(self, runtime: Runtime, srs: SrsConfig | None, proxy: ProxyConfig | None) -> None:
        if srs is None and proxy is None:
            raise ValueError("nothing to run: give a SIPREC server or a proxy configuration")
        self.srs = RecordingServer(runtime, srs) if srs is not None else None
        self.proxy = RecordingProxy(runtime, proxy) if proxy is not None else None

    async def start(self) -> None:
        if self.srs is not None:
            await self.srs.start()
        if self.proxy is not None:
            try:
                await self.proxy.start(recover=self.srs is None)
            except BaseException:
                if self.srs is not None:
                    await self.srs.stop()
                raise

    async def stop(self) -> None:
        if self.proxy is not None:
            await self.proxy.stop()
        if self.srs is not None:
            await self.srs.stop()


def run_media(
    runtime: Runtime, config: SrsConfig | None = None, proxy: ProxyConfig | None = None
) -> None:
    async def main() -> None:
        servers = MediaServers(runtime, config, proxy)
        await servers.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await servers.stop()

    uvloop.run(main())


class MediaThread:
    """The media servers on their own event loop in a daemon thread."""

    def __init__(
        self, runtime: Runtime, config: SrsConfig | None = None, proxy: ProxyConfig | None = None
    ) -> None:
        self.servers = MediaServers(runtime, config, proxy)
        self.loop = uvloop.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="callrec-media", daemon=True
        )

    @property
    def server(self) -> RecordingServer | None:
        return self.servers.srs

    @property
    def proxy(self) -> RecordingProxy | None:
        return self.servers.proxy

    def start(self) -> None:
        self.thread.start()
        self._call(self.servers.start()).result(10)

    def abandon(self) -> None:
        """After a failed ``start`` (a port taken): stop the loop without stopping the servers."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    def stop(self) -> None:
        self._call(self.servers.stop()).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def _call(self, coroutine: object) -> Future[None]:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)  # type: ignore[arg-type]
