"""Running the recording server: standalone (``callrec media``, uvloop, until a signal) or in
a background thread of another process (``callrec run``, tests)."""

from __future__ import annotations

import asyncio
import signal
import threading
from concurrent.futures import Future

import uvloop

from callrec.telephony.srs import RecordingServer, SrsConfig
from callrec.worker.runtime import Runtime


def run_media(runtime: Runtime, config: SrsConfig) -> None:
    async def main() -> None:
        server = RecordingServer(runtime, config)
        await server.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await server.stop()

    uvloop.run(main())


class MediaThread:
    """The recording server on its own event loop in a daemon thread."""

    def __init__(self, runtime: Runtime, config: SrsConfig) -> None:
        self.server = RecordingServer(runtime, config)
        self.loop = uvloop.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="callrec-media", daemon=True
        )

    def start(self) -> None:
        self.thread.start()
        self._call(self.server.start()).result(10)

    def abandon(self) -> None:
        """After a failed ``start`` (a port taken): stop the loop without stopping the server."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    def stop(self) -> None:
        self._call(self.server.stop()).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def _call(self, coroutine: object) -> Future[None]:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)  # type: ignore[arg-type]
