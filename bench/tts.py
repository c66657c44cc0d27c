"""Text-to-speech benchmark (issue 5).

Renders a realistic mix of announcements through the public API (``callrec.consent.tts.render``,
i.e. espeak-ng in its worker process, including the round trip over the socket): 200 texts of
100-2,000 characters in eight voices and languages, random pitch, rate and gender (--quick: 30).

Figures:
  chars_per_s          characters rendered per second of wall time (sequential calls)
  realtime_factor      seconds of audio produced per second of wall time (> 1: faster than
                       real time; 100 means one second of rendering yields 100 s of speech)
  realtime_factor_cpu  the same per CPU second of the worker process (chars_per_cpu_s too):
                       these do not depend on what else the machine is running
  p50_ms / p95_ms / max_ms   per-render latency seen by the caller; cold_start_ms is the first
                       call (worker start, engine initialisation, voice list)
  threads_chars_per_s  4 threads rendering at once (one worker serialises them)
Usage: python bench/tts.py [--quick]. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import threading
import time

from callrec.consent import tts
from callrec.consent.tts import TtsRequest

SEED = 20261201
MIN_CHARS, MAX_CHARS = 100, 2000
SENTENCES = {
    "en-us": [
        "Thank you for calling.", "This call may be recorded for quality and training purposes.",
        "If you do not wish to be recorded, please tell the agent at the start of the call.",
        "Recordings are kept for ninety days and then deleted.",
        "Our opening hours are Monday to Friday, from nine in the morning to six in the evening.",
        "Please have your customer number ready.", "All our agents are busy at the moment.",
    ],
    "en": [
        "Welcome to the support line.", "Calls are recorded to help us improve our service.",
        "You can ask for a copy of your recording by writing to our data protection officer.",
        "Please stay on the line and an adviser will be with you shortly.",
    ],
    "fr": [
        "Merci de votre appel.", "Cet appel peut être enregistré à des fins de qualité.",
        "Si vous ne souhaitez pas être enregistré, veuillez le signaler à votre conseiller.",
        "Les enregistrements sont conservés quatre-vingt-dix jours.",
    ],
    "de": [
        "Vielen Dank für Ihren Anruf.", "Dieses Gespräch wird zu Schulungszwecken aufgezeichnet.",
        "Wenn Sie das nicht wünschen, sagen Sie es bitte zu Beginn des Gesprächs.",
        "Aufzeichnungen werden nach neunzig Tagen gelöscht.",
    ],
    "es": [
        "Gracias por su llamada.", "Esta llamada puede ser grabada para mejorar nuestro servicio.",
        "Si no desea que se grabe, indíquelo al comienzo de la conversación.",
        "Las grabaciones se conservan durante noventa días.",
    ],
    "it": [
        "Grazie per aver chiamato.",
        "La chiamata potrebbe essere registrata per motivi di qualità.",
        "Se non desidera essere registrato, lo comunichi all'operatore.",
    ],
    "pt-br": [
        "Obrigado por ligar.", "Esta ligação pode ser gravada para fins de qualidade.",
        "Caso não deseje a gravação, informe o atendente no início da ligação.",
    ],
    "nl": [
        "Bedankt voor uw oproep.", "Dit gesprek kan worden opgenomen voor kwaliteitsdoeleinden.",
        "Wilt u dat niet, meld het dan aan het begin van het gesprek.",
    ],
}  # fmt: skip


def announcement(rng: random.Random, voice: str, length: int) -> str:
    """Sentences of ``voice``'s language up to ``length`` characters, cut at a word boundary."""
    text = ""
    while len(text) < length:
        text += rng.choice(SENTENCES[voice]) + " "
    cut = text[:length]
    trimmed = cut.rsplit(" ", 1)[0]
    return trimmed if len(trimmed) >= MIN_CHARS else cut


def workload(n: int) -> list[TtsRequest]:
    rng = random.Random(SEED)
    voices = sorted(SENTENCES)
    return [
        TtsRequest(
            text=announcement(rng, voice, rng.randint(MIN_CHARS, MAX_CHARS)),
            voice=voice,
            pitch=rng.randint(0, 9),
            rate=rng.randint(0, 9),
            gender=rng.choice(["male", "female"]),
        )
        for voice in (voices[i % len(voices)] for i in range(n))
    ]


def _worker_cpu_s() -> float | None:
    """CPU seconds used so far by the engine's worker process (Linux /proc), or None."""
    pids = tts.engine().worker_pids()
    try:
        with open(f"/proc/{pids[0]}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (IndexError, OSError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def sequential(requests: list[TtsRequest]) -> dict[str, float | None]:
    latencies: list[float] = []
    audio_s = 0.0
    cpu_before = _worker_cpu_s()
    started = time.perf_counter()
    for request in requests:
        t0 = time.perf_counter()
        audio_s += tts.render(request).duration_s
        latencies.append(time.perf_counter() - t0)
    wall = time.perf_counter() - started
    cpu_after = _worker_cpu_s()
    cpu = cpu_after - cpu_before if cpu_after is not None and cpu_before is not None else None
    latencies.sort()
    chars = sum(len(r.text) for r in requests)
    return {
        "chars": chars,
        "audio_s": round(audio_s, 1),
        "wall_s": round(wall, 3),
        "chars_per_s": round(chars / wall),
        "realtime_factor": round(audio_s / wall, 1),
        "realtime_factor_cpu": round(audio_s / cpu, 1) if cpu else None,
        "chars_per_cpu_s": round(chars / cpu) if cpu else None,
        "worker_cpu_s": round(cpu, 2) if cpu is not None else None,
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(_percentile(latencies, 0.95) * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1),
    }


def threaded(requests: list[TtsRequest], threads: int) -> float:
    """Characters per second with ``threads`` callers sharing the engine."""
    chunks = [requests[i::threads] for i in range(threads)]

    def run(chunk: list[TtsRequest]) -> None:
        for request in chunk:
            tts.render(request)

    workers = [threading.Thread(target=run, args=(chunk,)) for chunk in chunks]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(len(r.text) for r in requests) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="30 announcements instead of 200")
    args = parser.parse_args()
    requests = workload(30 if args.quick else 200)
    t0 = time.perf_counter()
    voices = len(tts.list_voices())  # starts the worker: measured apart as the cold start
    cold_start_ms = (time.perf_counter() - t0) * 1000
    figures = sequential(requests)
    threads_cps = threaded(requests[: max(8, len(requests) // 4)], 4)
    tts.shutdown()
    result: dict[str, object] = {
        "bench": "tts",
        "quick": args.quick,
        "chars_per_s": figures.pop("chars_per_s"),
        "realtime_factor": figures.pop("realtime_factor"),
        **figures,
        "texts": len(requests),
        "chars_min": min(len(r.text) for r in requests),
        "chars_max": max(len(r.text) for r in requests),
        "languages": sorted(SENTENCES),
        "voices_available": voices,
        "cold_start_ms": round(cold_start_ms, 1),
        "threads": 4,
        "threads_chars_per_s": round(threads_cps),
        "sample_rate": 22050,
        "load_avg_1m": round(os.getloadavg()[0], 2),  # wall-time figures drop on a busy box
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
