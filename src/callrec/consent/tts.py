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
Voice ids are espeak-ng's voice file names, lower-cased ("en-us", "fr-be"; British English is
"en"); they are not BCP-47 tags.
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
from typing import Any, Literal

import espeakng_loader  # type: ignore[import-untyped]  # the wheel ships no type hints

from callrec.consent import tts_worker

Gender = Literal["male", "female"]
GENDER_VARIANTS: dict[str, str] = {"male": "m3", "female": "f3"}
DEFAULT_TIMEOUT_S = 60.0  # 2,000 characters take ~0.2 s; this only catches a hung engine
START_TIMEOUT_S = 60.0  # interpreter start + espeak-ng initialisation (~0.1 s)


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

    def __init__(self, message: str, *, crashed: bool) -> None:
        super().__init__(message)
        self.crashed = crashed  # it died (worth one retry), rather than hung (not worth another)


_DOING = {"render": "rendering", "voices": "listing voices"}


# The child loads tts_worker.py by path in isolated mode (-I): it needs only the standard
# library, does not import callrec's packages, and ignores PYTHON* variables. subprocess rather
# than multiprocessing's spawn, which re-runs the parent's __main__ in the child and fails when
# a caller's script has no `if __name__ == "__main__"` guard.
_BOOT = (
    "import importlib.util as u, sys;"
    "s = u.spec_from_file_location('callrec_tts_worker', sys.argv[1]);"
    "m = sys.modules[s.name] = u.module_from_spec(s); s.loader.exec_module(m);"
    "m.main(sys.argv[2:])"
)


class _Worker:
    """One engine process and the parent's end of its socket."""

    def __init__(self, start_timeout_s: float) -> None:
        ours, theirs = socket.socketpair()
        with ours, theirs:
            self._process = subprocess.Popen(
                [sys.executable, "-I", "-c", _BOOT, tts_worker.__file__, str(theirs.fileno()),
                 espeakng_loader.get_library_path(), espeakng_loader.get_data_path()],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
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
            raise _WorkerGone(f"the TTS worker is gone ({exc})", crashed=True) from exc
        try:
            return self._answer(timeout_s, _DOING.get(message[0], message[0]))
        except (TtsError, _WorkerGone):
            raise  # a complete answer, or the worker is already killed
        except BaseException:
            # Interrupted with an answer still on its way (Ctrl+C, MemoryError): the next
            # request would read this one's answer, so this worker is never used again.
            self.kill()
            raise

    def _answer(self, timeout_s: float, what: str) -> Any:
        try:
            if not self._conn.poll(timeout_s):
                self.kill()
                raise _WorkerGone(
                    f"the TTS engine did not answer within {timeout_s:g} s ({what})", crashed=False
                )
            kind, payload = self._conn.recv()
        except (EOFError, OSError) as exc:
            self.kill()
            code = self._process.returncode
            raise _WorkerGone(
                f"the TTS worker exited while {what} (exit code {code})", crashed=True
            ) from exc
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

    def disown(self) -> None:
        """In a forked child: drop our copy of the socket; the process belongs to the parent."""
        self._dead = True
        self._conn.close()


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
        self._slots: queue.SimpleQueue[_Worker | None] = queue.SimpleQueue()
        for _ in range(workers):
            self._slots.put(None)
        self._size = workers
        self._lock = threading.Lock()
        self._live: set[_Worker] = set()
        self._voices: dict[str, tuple[Voice, str]] | None = None
        self._voices_lock = threading.Lock()
        self._closed = False

    def list_voices(self) -> list[Voice]:
        """The voices that speak (language and accent), sorted by name. Cached."""
        return [voice for voice, _ in self._voice_table().values()]

    def render(self, request: TtsRequest, *, timeout_s: float | None = None) -> Rendered:
        """Synthesise ``request``; raises TtsError for bad input or an engine failure."""
        identifier = self._validate(request)
        message = (
            "render",
            request.text,
            f"{identifier}+{GENDER_VARIANTS[request.gender]}",
            espeak_pitch(request.pitch),
            espeak_rate(request.rate),
        )
        pcm, sample_rate = self._run(message, timeout_s)
        return Rendered(pcm=pcm, sample_rate=sample_rate)

    def worker_pids(self) -> list[int]:
        """Process ids of the running workers (for operators and tests)."""
        with self._lock:
            return sorted(w.pid for w in self._live if w.alive())

    def close(self) -> None:
        """Stop every worker, after the renders in progress; later calls raise TtsError."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for _ in range(self._size):
            slot = self._slots.get()
            if slot is not None:
                slot.stop()
                self._forget(slot)
            self._slots.put(None)  # a thread still waiting for a slot wakes and sees `closed`

    def _disown(self) -> None:
        # Only after a fork, where this thread is the only one: the locks may be held by threads
        # that no longer exist, so do not take them.
        self._closed = True
        for worker in self._live:
            worker.disown()

    def _validate(self, request: TtsRequest) -> str:
        for field, value in (("pitch", request.pitch), ("rate", request.rate)):
            if type(value) is not int or not 0 <= value <= 9:  # bool is an int: refuse it too
                raise TtsError(f"{field} must be an integer from 0 to 9, not {value!r}")
        if request.gender not in GENDER_VARIANTS:
            raise TtsError(f"gender must be 'male' or 'female', not {request.gender!r}")
        if not isinstance(request.text, str) or not request.text.strip():
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
        """Our id → (Voice, espeak-ng identifier), loaded once from a worker."""
        with self._voices_lock:
            if self._voices is None:
                entries: list[tuple[str, str]] = self._run(("voices",), None)[0]
                table: dict[str, tuple[Voice, str]] = {}
                for identifier, name in sorted(entries, key=lambda e: (e[1].casefold(), e[0])):
                    vid = voice_id(identifier)
                    table[vid] = (Voice(vid, name, vid.split("-")[0]), identifier)
                self._voices = table
            return self._voices

    def _run(self, message: tuple[Any, ...], timeout_s: float | None) -> tuple[Any, int]:
        """Send one request to an idle worker; returns (payload, sample rate).

        A worker found dead mid-request (killed, out of memory, a crash) is replaced and the
        request tried once more on the new one; a second crash or a timeout is an error.
        """
        for attempt in (1, 2):
            try:
                return self._run_once(message, timeout_s)
            except _WorkerGone as exc:
                if not exc.crashed or attempt == 2:
                    raise TtsError(str(exc)) from exc
        raise AssertionError("unreachable")

    def _run_once(self, message: tuple[Any, ...], timeout_s: float | None) -> tuple[Any, int]:
        worker = self._slots.get()
        try:
            if self._closed:
                raise TtsError("the TTS engine is shut down")
            if worker is not None and not worker.alive():
                worker.kill()  # died between requests: reap it, start afresh
                self._forget(worker)
                worker = None
            if worker is None:
                worker = self._start()
            payload = worker.call(message, self.timeout_s if timeout_s is None else timeout_s)
            return payload, worker.sample_rate
        finally:
            if worker is not None and not worker.alive():
                self._forget(worker)
                worker = None
            self._slots.put(worker)

    def _start(self) -> _Worker:
        try:
            worker = _Worker(self._start_timeout_s)
        except _WorkerGone as exc:
            raise TtsError(f"the TTS engine cannot start: {exc}") from exc  # no retry loop
        with self._lock:
            self._live.add(worker)
        return worker

    def _forget(self, worker: _Worker) -> None:
        with self._lock:
            self._live.discard(worker)


_default: TtsEngine | None = None
_default_lock = threading.Lock()
_inherited: list[TtsEngine] = []  # engines of a parent we were forked from: never used here


def engine() -> TtsEngine:
    """The process-wide engine, created on first use and stopped at interpreter exit."""
    global _default
    with _default_lock:
        if _default is None:
            _default = TtsEngine()
        return _default


def list_voices() -> list[Voice]:
    """Every voice of the engine that speaks (language and accent), sorted by name. Cached."""
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


def _after_fork_in_child() -> None:
    # A forked process must not talk to its parent's workers over the inherited sockets (the
    # answers would be read by whichever process reads first): it starts its own on demand.
    global _default, _default_lock
    _default_lock = threading.Lock()
    if _default is not None:
        _default._disown()
        _inherited.append(_default)  # kept alive so its process handles are never finalised
        _default = None


atexit.register(shutdown)
os.register_at_fork(after_in_child=_after_fork_in_child)
