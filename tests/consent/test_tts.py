"""The espeak-ng engine, for real: every voice speaks, and pitch, rate and gender are audible."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from callrec.consent import tts
from callrec.consent.tts import Rendered, TtsEngine, TtsError, TtsRequest
from tests.consent.pitch import median_f0, rms_dbfs

SENTENCE = "Hello, this call is recorded for quality and training purposes."


def say(text: str = SENTENCE, voice: str = "en-us", pitch: int = 5, rate: int = 5,
        gender: tts.Gender = "male") -> Rendered:  # fmt: skip
    return tts.render(TtsRequest(text=text, voice=voice, pitch=pitch, rate=rate, gender=gender))


def f0(rendered: Rendered) -> float:
    return median_f0(rendered.pcm, rendered.sample_rate)


@pytest.fixture(scope="module", autouse=True)
def _stop_default_engine() -> Iterator[None]:
    yield
    tts.shutdown()


@pytest.fixture
def engine() -> Iterator[TtsEngine]:
    """A private engine, for tests that crash or hang its worker."""
    eng = TtsEngine(timeout_s=30)
    yield eng
    eng.close()


def test_voice_list_names_languages_and_accents() -> None:
    voices = tts.list_voices()
    by_id = {v.id: v for v in voices}
    assert len(by_id) == len(voices) > 100
    assert by_id["en-us"] == tts.Voice(id="en-us", name="English (America)", language="en")
    assert by_id["en"].name == "English (Great Britain)"  # espeak-ng ids are not BCP-47
    assert by_id["fr-be"].name == "French (Belgium)"
    assert by_id["pt-br"].language == "pt"
    assert all(v.name and v.name == v.name.strip() for v in voices)
    assert [v.name.casefold() for v in voices] == sorted(v.name.casefold() for v in voices)
    assert tts.list_voices() == voices


def test_every_listed_voice_speaks() -> None:
    silent = []
    for voice in tts.list_voices():
        out = say("Hello, 1 2 3.", voice=voice.id, gender="female")
        assert out.sample_rate == 22050
        if out.duration_s < 0.3 or rms_dbfs(out.pcm) < -40:
            silent.append((voice.id, round(out.duration_s, 2), round(rms_dbfs(out.pcm), 1)))
    assert not silent, f"voices that did not speak: {silent}"


def test_output_is_16_bit_mono_pcm_at_the_engine_rate() -> None:
    out = say()
    assert out.sample_rate == 22050
    assert len(out.pcm) % 2 == 0
    assert 2.0 < out.duration_s < 10.0
    assert rms_dbfs(out.pcm) > -30


@pytest.mark.parametrize("gender", ["male", "female"])
def test_higher_pitch_raises_the_median_f0(gender: tts.Gender) -> None:
    low, mid, high = (f0(say(pitch=p, gender=gender)) for p in (0, 5, 9))
    assert low < mid < high
    assert high > 1.6 * low, (low, mid, high)  # measured: ~2.3x from pitch 0 to 9


def test_faster_rate_shortens_the_same_text() -> None:
    durations = [say(rate=r).duration_s for r in (0, 3, 6, 9)]
    assert durations == sorted(durations, reverse=True)
    assert durations[-1] < 0.5 * durations[0], durations  # measured: 80 -> 260 wpm, ~1/3


@pytest.mark.parametrize("voice", ["en-us", "fr", "de", "es"])
def test_female_voice_is_higher_than_male(voice: str) -> None:
    male, female = f0(say(voice=voice, gender="male")), f0(say(voice=voice, gender="female"))
    assert female > 1.4 * male, (male, female)  # measured: ~2x at pitch 5


def test_unknown_voice_is_refused() -> None:
    with pytest.raises(TtsError, match="unknown voice 'xx-nowhere'"):
        say(voice="xx-nowhere")
    with pytest.raises(TtsError, match="unknown voice"):
        say(voice="gmw/en-US")  # espeak-ng's own identifier is not one of our ids
    assert f0(say(voice="en-us", gender="female")) > 150  # the next request is unaffected


@pytest.mark.parametrize("field", ["pitch", "rate"])
@pytest.mark.parametrize("value", [-1, 10, 99, True, 4.5, "5"])
def test_pitch_and_rate_out_of_range_are_refused(field: str, value: object) -> None:
    params: dict[str, object] = {"pitch": 5, "rate": 5, field: value}
    request = TtsRequest(SENTENCE, "en-us", gender="male", **params)  # type: ignore[arg-type]
    with pytest.raises(TtsError, match=f"{field} must be an integer from 0 to 9"):
        tts.render(request)


@pytest.mark.parametrize(
    ("text", "gender", "reason"),
    [("   ", "male", "empty"), ("a\x00b", "male", "NUL"), ("\ud800", "male", "Unicode"),
     ("...", "male", "no speech"), (SENTENCE, "other", "gender")],
)  # fmt: skip
def test_bad_text_or_gender_is_refused(text: str, gender: str, reason: str) -> None:
    with pytest.raises(TtsError, match=reason):
        tts.render(TtsRequest(text, "en-us", 5, 5, gender))  # type: ignore[arg-type]


ENGINE_SCRIPT = """
import sys, espeakng_loader
from callrec.consent.tts_worker import Espeak, EngineError
engine = Espeak(espeakng_loader.get_library_path(), espeakng_loader.get_data_path())
french = engine.synthesize("Bonjour", "roa/fr+f3", 50, 180)
try:
    engine.synthesize("Hello", "xx/nowhere", 50, 180)
except EngineError as exc:
    print("refused:", exc)
print(len(engine.synthesize("Hello", "gmw/en-US+m3", 50, 180)) > 0)
"""


def test_the_engine_refuses_an_unknown_voice_instead_of_keeping_the_previous_one() -> None:
    # espeak-ng's SetVoiceByName fails and leaves the previous voice active; the worker checks
    # the code and refuses rather than speaking English text with the French voice.
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", ENGINE_SCRIPT],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["refused: espeak-ng has no voice 'xx/nowhere'", "True"]


def test_renders_from_many_threads_keep_their_own_parameters() -> None:
    requests = [
        TtsRequest("One two three four five.", "en-us", 0, 9, "male"),
        TtsRequest("Bonjour, cet appel est enregistré pour la qualité.", "fr", 9, 0, "female"),
        TtsRequest("Guten Tag, dieser Anruf wird aufgezeichnet.", "de", 2, 5, "male"),
        TtsRequest("Buenos días, esta llamada se graba.", "es", 7, 3, "female"),
    ] * 3
    alone = {r: tts.render(r) for r in requests[:4]}
    results: dict[int, Rendered] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(len(requests))

    def worker(i: int) -> None:
        try:
            start.wait()
            results[i] = tts.render(requests[i])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    for i, request in enumerate(requests):
        # espeak-ng is not bit-exact from one call to the next, so compare what is heard.
        got, want = results[i], alone[request]
        assert got.duration_s == pytest.approx(want.duration_s, rel=0.05), request
        assert f0(got) == pytest.approx(f0(want), rel=0.08), request


def test_a_2000_character_text_renders() -> None:
    words = "Calls to this number are recorded and kept for ninety days for quality and training. "
    text = (words * 30)[:2000]
    assert len(text) == 2000
    started = time.perf_counter()
    out = say(text)
    assert 60 < out.duration_s < 300  # ~15 characters per second of speech at rate 5
    assert rms_dbfs(out.pcm) > -30
    assert time.perf_counter() - started < 30  # ~0.2 s measured; generous for a loaded box


def test_a_crashed_worker_is_replaced(engine: TtsEngine) -> None:
    request = TtsRequest(SENTENCE, "en-us", 5, 5, "female")
    engine.render(request)
    [pid] = engine.worker_pids()
    os.kill(pid, signal.SIGKILL)
    out = engine.render(request)
    assert rms_dbfs(out.pcm) > -30
    assert engine.worker_pids() not in ([], [pid])


def test_a_hung_engine_times_out_and_is_replaced(engine: TtsEngine) -> None:
    request = TtsRequest(SENTENCE, "en-us", 5, 5, "female")
    engine.render(request)
    [pid] = engine.worker_pids()
    os.kill(pid, signal.SIGSTOP)  # the engine stops answering, as if stuck in a loop
    started = time.monotonic()
    with pytest.raises(TtsError, match="did not answer within 1 s"):
        engine.render(request, timeout_s=1)
    assert time.monotonic() - started < 10
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # killed and reaped
    assert rms_dbfs(engine.render(request).pcm) > -30


def test_close_stops_the_workers_and_refuses_new_work(engine: TtsEngine) -> None:
    engine.render(TtsRequest(SENTENCE, "en-us", 5, 5, "male"))
    [pid] = engine.worker_pids()
    engine.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(TtsError, match="shut down"):
        engine.render(TtsRequest(SENTENCE, "en-us", 5, 5, "male"))


def test_a_script_without_a_main_guard_renders_and_exits_cleanly(tmp_path: Path) -> None:
    script = tmp_path / "announce.py"  # no `if __name__ == "__main__"`: must not matter
    script.write_text(
        "from callrec.consent import tts\n"
        "out = tts.render(tts.TtsRequest('Hello there.', 'en-us', 5, 5, 'male'))\n"
        "print(tts.engine().worker_pids()[0], len(out.pcm))\n"
    )
    done = subprocess.run(
        [sys.executable, "-W", "error", str(script)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    pid, size = map(int, done.stdout.split())
    assert size > 20_000
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the worker was stopped and reaped at interpreter exit


def test_a_forked_process_starts_its_own_worker() -> None:
    request = TtsRequest(SENTENCE, "en-us", 5, 5, "female")
    say()
    [parent_worker] = tts.engine().worker_pids()
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the forked child
        try:
            out = tts.render(request)
            report = f"{tts.engine().worker_pids()[0]} {len(out.pcm)}"
            tts.shutdown()
        except BaseException as exc:
            report = f"error {exc!r}"
        os.write(write, report.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        report = pipe.read()
    os.waitpid(child, 0)
    assert not report.startswith("error"), report
    child_worker, size = report.split()
    assert int(child_worker) != parent_worker
    assert int(size) > 50_000
    assert tts.engine().worker_pids() == [parent_worker]  # ours is untouched and still answers
    assert f0(tts.render(request)) > 150


class _Interrupted(Exception):
    pass


def test_an_interrupted_render_does_not_leak_its_answer_into_the_next(engine: TtsEngine) -> None:
    long_text = "This call is recorded and kept for ninety days. " * 40
    short_high = TtsRequest("Hello.", "en-us", 9, 5, "female")
    engine.render(short_high)  # worker started: the alarm below hits the render itself

    def interrupt(signum: int, frame: object) -> None:
        raise _Interrupted

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.01)
        with pytest.raises(_Interrupted):
            engine.render(TtsRequest(long_text, "en-us", 0, 0, "male"))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    out = engine.render(short_high)
    assert out.duration_s < 3  # not the long text's answer, still on its way when interrupted
    assert f0(out) > 250
