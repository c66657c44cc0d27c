"""Text-to-speech with espeak-ng (from the ``espeakng-loader`` wheel), in a worker process.

espeak-ng holds its voice and parameters in process-global state and is not thread-safe, so the
engine runs in dedicated child processes (``tts_worker``), started lazily; each serves one
request at a time. ``render`` is blocking and safe to call from any thread (async callers use
``asyncio.to_thread``). A worker that crashes is replaced on the next request; one that does not
answer within the timeout is killed and replaced.

Parameters map onto espeak-ng as measured in ``notes/audio.md``:
  pitch 0-9 → espeak pitch ``round(p * 99 / 9)`` (0-99; 50 is the voice's normal pitch)
  rate 0-9 → ``80 + 20 * r`` words per minute
  gender  → the voice variant ``+m3`` (male) or ``+f3`` (female)
"""

from __future__ import annotations

import atexit
import os
import queue
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Literal

import espeakng_loader  # type: ignore[import-untyped]  # the wheel ships no type hints

import callrec
from callrec.consent import tts_worker

GENDER_VARIANTS = {"male": "m3", "female": "f3"}
DEFAULT_TIMEOUT_S = 60.0  # 2,000 characters take well under a second; a loaded box, a few
START_TIMEOUT_S = 60.0  # interpreter start + espeak-ng initialisation


Gender = Literal["male", "female"]


class TtsError(ValueError):
    """Unknown voice, parameter out of range, unusable text, or an engine failure."""


@dataclass(frozen=True)
class Voice:
    id: str  # what to pass back as TtsRequest.voice, e.g. "en-us", "fr-be", "en" (= British)
    name: str  # human-readable, e.g. "English (America)"
    language: str  # the language part of the id, e.g. "en"


@dataclass(frozen=True)
class TtsRequest:
    text: str
    voice: str  # a Voice.id
    pitch: int  # 0-9
    rate: int  # 0-9
    gender: Gender


@dataclass(frozen=True)
class Rendered:
    pcm: bytes  # 16-bit little-endian signed mono PCM
    sample_rate: int  # the engine's native rate (22050 for espeak-ng)

    @property
    def duration_s(self) -> float:
        return len(self.pcm) / 2 / self.sample_rate


def espeak_pitch(pitch: int) -> int:
    return round(pitch * 99 / 9)


def espeak_rate(rate: int) -> int:
    return 80 + 20 * rate


def voice_id(identifier: str) -> str:
    """Our id for an espeak-ng identifier: its file name, lower-cased ("gmw/en-US" → "en-us")."""
    return identifier.rsplit("/", 1)[-1].lower()


class _WorkerGone(Exception):
    """The worker process died or stopped answering; it has been killed."""


class _Worker:
    """One engine process and the parent's end of its socket.

    Started with ``subprocess`` rather than ``multiprocessing``'s spawn context: spawn re-runs
    the parent's ``__main__`` in the child, which breaks (or recurses) when a caller's script has
    no ``if __name__ == "__main__"`` guard. The child only imports ``tts_worker``.
    """

    def __init__(self, start_timeout_s: float) -> None:
        ours, theirs = socket.socketpair()
        with ours, theirs:
            self._process = subprocess.Popen(
                [sys.executable, "-c", _BOOT, str(theirs.fileno()),
                 espeakng_loader.get_library_path(), espeakng_loader.get_data_path()],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                env=_child_env(),
            )  # fmt: skip
            self._conn = Connection(ours.detach())
        self._dead = False
        try:
            self.sample_rate: int = self._answer(start_timeout_s, "starting")
        except BaseException:
            self.kill()
            raise

    @property
    def pid(self) -> int:
        return self._process.pid

    def alive(self) -> bool:
        return not self._dead and self._process.poll() is None

    def call(self, message: tuple[Any, ...], timeout_s: float) -> Any:
        try:
            self._conn.send(message)
        except OSError as exc:
            self.kill()
            raise _WorkerGone(f"the TTS worker is gone ({exc})") from exc
        return self._answer(timeout_s, message[0])

    def _answer(self, timeout_s: float, what: str) -> Any:
        try:
            if not self._conn.poll(timeout_s):
                self.kill()
                raise _WorkerGone(f"the TTS engine did not answer within {timeout_s:g} s ({what})")
            kind, payload = self._conn.recv()
        except (EOFError, OSError) as exc:
            self.kill()
            code = self._process.returncode
            raise _WorkerGone(f"the TTS worker exited while {what} (exit code {code})") from exc
        if kind == "error":
            raise TtsError(str(payload))
        return payload

    def stop(self) -> None:
        """Ask the worker to finish; kill it if it does not."""
        if self._dead:
            return
        try:
            self._conn.send(None)
            self._process.wait(2)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()

    def kill(self) -> None:
        """SIGKILL: a hung or crashed engine holds nothing worth a graceful exit."""
        if self._dead:
            return
        self._dead = True
        self._conn.close()
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()


_BOOT = "import sys; from callrec.consent.tts_worker import main; main(sys.argv[1:])"


def _child_env() -> dict[str, str]:
    """The parent's environment, with callrec importable even when it is not installed."""
    env = dict(os.environ)
    root = str(Path(callrec.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


class TtsEngine:
    """A small pool of espeak-ng worker processes (one by default). Thread-safe."""

    def __init__(
        self,
        *,
        workers: int = 1,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        start_timeout_s: float = START_TIMEOUT_S,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.timeout_s = timeout_s
        self._start_timeout_s = start_timeout_s
        # One slot per worker; None is a slot whose process is not started (yet, or again).
        self._slots: queue.LifoQueue[_Worker | None] = queue.LifoQueue()
        for _ in range(workers):
            self._slots.put(None)
        self._workers = workers
        self._lock = threading.Lock()
        self._voices: dict[str, tuple[Voice, str]] | None = None
        self._closed = False

    # -- public API --------------------------------------------------------------------------

    def list_voices(self) -> list[Voice]:
        return [voice for voice, _ in self._voice_table().values()]

    def render(self, request: TtsRequest, *, timeout_s: float | None = None) -> Rendered:
        identifier = self._validate(request)
        job = tts_worker.Job(
            text=request.text,
            voice=f"{identifier}+{GENDER_VARIANTS[request.gender]}",
            pitch=espeak_pitch(request.pitch),
            rate=espeak_rate(request.rate),
        )
        pcm, sample_rate = self._run(("render", job), timeout_s)
        return Rendered(pcm=pcm, sample_rate=sample_rate)

    def worker_pids(self) -> list[int]:
        """Process ids of the running workers that are idle right now (for operators and tests)."""
        with self._lock:
            slots = [self._slots.get_nowait() for _ in range(self._slots.qsize())]
            for slot in reversed(slots):
                self._slots.put(slot)
        return [w.pid for w in slots if w is not None and w.alive()]

    def close(self) -> None:
        """Stop every worker; waits for renders in progress to finish."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for _ in range(self._workers):
            slot = self._slots.get()
            if slot is not None:
                slot.stop()

    # -- internals ---------------------------------------------------------------------------

    def _validate(self, request: TtsRequest) -> str:
        for field, value in (("pitch", request.pitch), ("rate", request.rate)):
            if type(value) is not int or not 0 <= value <= 9:  # bool is an int: refuse it too
                raise TtsError(f"{field} must be an integer from 0 to 9, not {value!r}")
        if request.gender not in GENDER_VARIANTS:
            raise TtsError(f"gender must be 'male' or 'female', not {request.gender!r}")
        if not request.text.strip():
            raise TtsError("the text is empty")
        if "\x00" in request.text:
            raise TtsError("the text contains a NUL character")
        try:
            request.text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise TtsError(f"the text is not valid Unicode ({exc.reason})") from exc
        entry = self._voice_table().get(request.voice)
        if entry is None:
            raise TtsError(f"unknown voice {request.voice!r}; see the voice list")
        return entry[1]

    def _voice_table(self) -> dict[str, tuple[Voice, str]]:
        table = self._voices
        if table is None:
            entries: list[tts_worker.VoiceEntry] = self._run(("voices",), None)[0]
            table = {}
            for entry in sorted(entries, key=lambda e: (e.name.casefold(), e.identifier)):
                vid = voice_id(entry.identifier)
                table[vid] = (Voice(id=vid, name=entry.name, language=vid.split("-")[0]),
                              entry.identifier)  # fmt: skip
            self._voices = table
        return table

    def _run(self, message: tuple[Any, ...], timeout_s: float | None) -> tuple[Any, int]:
        """Send one request to an idle worker; returns (payload, sample rate)."""
        if self._closed:
            raise TtsError("the TTS engine is shut down")
        worker = self._slots.get()
        try:
            if worker is None or not worker.alive():
                if worker is not None:
                    worker.kill()  # died between requests: reap it, start afresh
                worker = None
                worker = _Worker(self._start_timeout_s)
            payload = worker.call(message, self.timeout_s if timeout_s is None else timeout_s)
            return payload, worker.sample_rate
        except _WorkerGone as exc:
            worker = None
            raise TtsError(str(exc)) from exc
        finally:
            self._slots.put(worker)


_default: TtsEngine | None = None
_default_lock = threading.Lock()


def engine() -> TtsEngine:
    """The process-wide engine, created on first use and stopped at interpreter exit."""
    global _default
    with _default_lock:
        if _default is None:
            _default = TtsEngine()
        return _default


def list_voices() -> list[Voice]:
    """Every voice of the engine (language and accent), sorted by name. Cached."""
    return engine().list_voices()


def render(request: TtsRequest) -> Rendered:
    """Synthesise ``request`` to 16-bit mono PCM at the engine's rate. Blocking, thread-safe."""
    return engine().render(request)


def shutdown() -> None:
    """Stop the process-wide engine's workers (a later call starts a new engine)."""
    global _default
    with _default_lock:
        current, _default = _default, None
    if current is not None:
        current.close()


atexit.register(shutdown)
