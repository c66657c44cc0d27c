"""espeak-ng driven through ctypes, and the loop of the process that owns it.

espeak-ng keeps its voice, parameters and output buffers in process-global state, so the engine
only ever runs here, in a dedicated child process that ``callrec.consent.tts`` starts and talks
to over a socket (``multiprocessing.connection.Connection`` framing). The child loads this file
by path, so it imports only the standard library. Nothing else in callrec calls it directly.

Wire protocol (pickled tuples of built-in types, so neither side needs the other's classes):
  child → parent once at start:  ("ready", sample_rate) | ("error", message)
  parent → child:                ("voices",)
                                 | ("render", text, voice[+variant], espeak pitch, words/min)
                                 | None (stop)
  child → parent per request:    ("ok", [(identifier, name), ...] | pcm bytes) | ("error", message)
"""

from __future__ import annotations

import ctypes
import signal
import sys
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

# speak_lib.h constants (espeak-ng 1.52).
AUDIO_OUTPUT_SYNCHRONOUS = 2
INITIALIZE_DONT_EXIT = 0x8000  # report errors instead of calling exit()
CHARS_UTF8 = 1
POS_CHARACTER = 1
PARAM_RATE = 1
PARAM_PITCH = 3
EE_OK = 0
BUFFER_MS = 500  # larger buffers mean fewer callbacks into Python per second of audio

_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class _EspeakVoice(ctypes.Structure):
    # `languages` is a packed list of (priority byte, NUL-terminated name) ending in a 0 byte,
    # so it is read as raw memory, not as a C string.
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


class EngineError(Exception):
    """The engine refused a request (unknown voice, bad parameter, synthesis failure)."""


@dataclass(frozen=True)
class VoiceEntry:
    identifier: str  # espeak-ng's own identifier, e.g. "gmw/en-US"
    name: str  # e.g. "English (America)"
    languages: tuple[str, ...]  # in the engine's order, e.g. ("en-us", "en")


def _read_languages(address: int | None) -> tuple[str, ...]:
    languages: list[str] = []
    if not address:
        return ()
    while ctypes.string_at(address, 1)[0] != 0:  # priority byte 0 ends the list
        name = ctypes.string_at(address + 1)
        languages.append(name.decode("utf-8", "replace"))
        address += 1 + len(name) + 1
    return tuple(languages)


class Espeak:
    """One initialised espeak-ng library. Only one may exist per process."""

    def __init__(self, library_path: str, data_path: str) -> None:
        self._lib = ctypes.CDLL(library_path)
        self._declare()
        rate = self._lib.espeak_Initialize(
            AUDIO_OUTPUT_SYNCHRONOUS, BUFFER_MS, data_path.encode(), INITIALIZE_DONT_EXIT
        )
        if rate <= 0:
            raise EngineError(f"espeak-ng failed to initialise with data at {data_path}")
        self.sample_rate: int = rate
        self._data_path = Path(data_path)
        self._chunks: list[bytes] = []
        # Kept on self: ctypes must not garbage-collect a callback the library still holds.
        self._callback = _SynthCallback(self._collect)
        self._lib.espeak_SetSynthCallback(self._callback)

    def _declare(self) -> None:
        lib = self._lib
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_EspeakVoice))
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
            ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]  # fmt: skip
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Terminate.argtypes = []
        lib.espeak_Terminate.restype = ctypes.c_int

    def _collect(self, wav: Any, samples: int, _events: Any) -> int:
        if wav and samples > 0:
            self._chunks.append(ctypes.string_at(wav, samples * 2))
        return 0  # 0 = keep going

    def voices(self) -> list[VoiceEntry]:
        """The voices that can speak: listed by the engine and with their dictionary shipped."""
        table = self._lib.espeak_ListVoices(None)
        entries: list[VoiceEntry] = []
        index = 0
        while table[index]:
            voice = table[index].contents
            entry = VoiceEntry(
                identifier=(voice.identifier or b"").decode("utf-8", "replace"),
                name=(voice.name or b"").decode("utf-8", "replace").strip(),
                languages=_read_languages(voice.languages),
            )
            if self._has_dictionary(entry.identifier):
                entries.append(entry)
            index += 1
        return entries

    def _has_dictionary(self, identifier: str) -> bool:
        # The wheel lists a few voices (fo, kaa, xex in 0.2.4) whose <name>_dict it does not
        # ship; they synthesise silence. The dictionary is the voice file's `dictionary` line,
        # else the primary subtag of its first `language` line (espeak-ng's own rule).
        try:
            lines = (self._data_path / "lang" / identifier).read_text("utf-8", "replace")
        except OSError:
            return True  # unusual layout: keep it; render() still refuses silent output
        dictionary = language = None
        for line in lines.splitlines():
            words = line.split()
            if len(words) >= 2 and words[0] == "dictionary":
                dictionary = words[1]
            elif len(words) >= 2 and words[0] == "language" and language is None:
                language = words[1].split("-")[0]
        name = dictionary or language
        return name is None or (self._data_path / f"{name}_dict").is_file()

    def synthesize(self, text: str, voice: str, pitch: int, rate: int) -> bytes:
        """``voice``: an espeak-ng identifier, optionally "+variant"; pitch 0-100; rate in wpm."""
        # A failed voice change leaves the previous voice active: never synthesise after one.
        if self._lib.espeak_SetVoiceByName(voice.encode()) != EE_OK:
            raise EngineError(f"espeak-ng has no voice {voice!r}")
        # Set after the voice: a voice change may reset them to the voice's defaults.
        for parameter, value in ((PARAM_RATE, rate), (PARAM_PITCH, pitch)):
            if self._lib.espeak_SetParameter(parameter, value, 0) != EE_OK:
                raise EngineError(f"espeak-ng refused parameter {parameter}={value}")
        buffer = ctypes.create_string_buffer(text.encode("utf-8"))
        self._chunks = []
        status = self._lib.espeak_Synth(
            buffer, ctypes.sizeof(buffer), 0, POS_CHARACTER, 0, CHARS_UTF8, None, None
        )
        pcm, self._chunks = b"".join(self._chunks), []
        if status != EE_OK:
            raise EngineError(f"espeak-ng synthesis failed (code {status})")
        if not pcm.strip(b"\x00"):
            raise EngineError("the text produced no speech (only silence)")
        return _little_endian(pcm)

    def close(self) -> None:
        self._lib.espeak_Terminate()


def _little_endian(pcm: bytes) -> bytes:
    if sys.byteorder == "little":
        return pcm
    import array

    samples = array.array("h", pcm)
    samples.byteswap()
    return samples.tobytes()


def _handle(engine: Espeak, message: tuple[Any, ...]) -> tuple[str, Any]:
    try:
        if message[0] == "voices":
            return "ok", [(v.identifier, v.name) for v in engine.voices()]
        if message[0] == "render":
            _, text, voice, pitch, rate = message
            return "ok", engine.synthesize(text, voice, pitch, rate)
        return "error", f"unknown request {message[0]!r}"
    except EngineError as exc:
        return "error", str(exc)


def main(argv: list[str]) -> None:
    """Entry point of the worker process: ``<socket fd> <library path> <data path>``."""
    fd, library_path, data_path = argv
    # Ctrl+C reaches the whole process group; the parent decides when this process ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    serve(Connection(int(fd)), library_path, data_path)


def serve(conn: Connection, library_path: str, data_path: str) -> None:
    """The worker process's main function: answer requests until told to stop or orphaned."""
    try:
        engine = Espeak(library_path, data_path)
    except (OSError, EngineError) as exc:
        conn.send(("error", f"cannot start espeak-ng: {exc}"))
        conn.close()
        return
    conn.send(("ready", engine.sample_rate))
    try:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                break  # the parent went away
            if message is None:
                break
            conn.send(_handle(engine, message))
    finally:
        engine.close()
        conn.close()
