"""Writes a demo corpus (``manifest.jsonl`` + ``audio/*.wav``) in the SoICT SLU format.

Every random draw for utterance ``i`` comes from ``default_rng([seed, i])``, so the corpus is
the same whatever the number of workers. eSpeak NG keeps state between syntheses that
changes the next one by a few samples, so each utterance is synthesised in a process forked
from a freshly initialised engine; a few voice variants vary from process to process even so
and are left out (``tts.UNSTABLE_VARIANTS``). Same seed, byte-identical WAVs.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from rich.progress import track

from vasr.audio import SAMPLE_RATE
from vasr.synth.broad import BroadTextGenerator
from vasr.synth.templates import CommandGenerator, Utterance
from vasr.synth.tts import VOICES, Espeak, Speaker, variants
from vasr.text import normalize

# What a corpus says: smart-home commands (the demo) or general text (pretraining).
TEXT_KINDS: dict[str, Callable[[np.random.Generator], Utterance]] = {
    "commands": lambda rng: CommandGenerator(rng).utterance(),
    "broad": lambda rng: BroadTextGenerator(rng).utterance(),
}


@dataclass(frozen=True)
class Rendering:
    """How one utterance sounds: speaker, level, padding and noise."""

    speaker: Speaker
    peak: float
    lead_s: float
    tail_s: float
    snr_db: float
    noise_seed: int


def draw_rendering(rng: np.random.Generator, variant_names: list[str]) -> Rendering:
    """Speaker variety and recording conditions for one utterance."""
    variant = "" if rng.random() < 0.2 else variant_names[int(rng.integers(len(variant_names)))]
    speaker = Speaker(
        voice=VOICES[int(rng.integers(len(VOICES)))],
        variant=variant,
        rate=int(rng.integers(120, 181)),  # faster rates crash some variants in libespeak-ng 1.52
        pitch=int(rng.integers(25, 76)),
        pitch_range=int(rng.integers(20, 81)),
    )
    return Rendering(
        speaker=speaker,
        peak=float(rng.uniform(0.25, 0.95)),
        lead_s=float(rng.uniform(0.05, 0.35)),
        tail_s=float(rng.uniform(0.05, 0.35)),
        snr_db=float(rng.uniform(25, 50)),
        noise_seed=int(rng.integers(2**31)),
    )


def render(engine: Espeak, text: str, how: Rendering) -> np.ndarray:
    """Synthesised speech with silence around it, scaled to a peak and with white noise at an SNR."""
    speech = engine.synthesize(text, how.speaker, SAMPLE_RATE)
    speech = speech / max(float(np.abs(speech).max()), 1e-6) * how.peak
    audio = np.concatenate(
        [
            np.zeros(int(how.lead_s * SAMPLE_RATE), np.float32),
            speech,
            np.zeros(int(how.tail_s * SAMPLE_RATE), np.float32),
        ]
    )
    power = float(np.mean(speech**2)) if speech.size else 1e-8
    noise = np.random.default_rng(how.noise_seed).standard_normal(audio.size).astype(np.float32)
    audio = audio + noise * np.sqrt(power / 10 ** (how.snr_db / 10))
    return np.clip(audio, -1.0, 1.0)


def utterance_id(seed: int, index: int) -> str:
    """A 24-hex id shaped like the real corpus's, fixed by seed and index."""
    return hashlib.sha1(f"vasr-{seed}-{index}".encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Job:
    """What a worker needs to write one WAV."""

    path: str
    speech_text: str
    rendering: Rendering


_ENGINE: Espeak | None = None


def _init_worker() -> None:
    global _ENGINE
    _ENGINE = Espeak()


def _write_wav(job: Job) -> str:
    """Synthesise ``job`` in a child forked from the pristine engine; the child writes the file.

    A finished WAV is kept (files appear only complete, by rename), so an interrupted or
    enlarged corpus is completed rather than made again.
    """
    assert _ENGINE is not None, "worker not initialised"
    if os.path.exists(job.path):
        return job.path
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            partial = f"{job.path}.partial"
            audio = render(_ENGINE, job.speech_text, job.rendering)
            sf.write(partial, audio, SAMPLE_RATE, subtype="PCM_16", format="WAV")
            os.replace(partial, job.path)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if status != 0 or not os.path.exists(job.path):
        raise RuntimeError(f"synthesis failed for {job.path} ({job.speech_text!r})")
    return job.path


def plan(
    out: Path,
    num: int,
    seed: int,
    decomposed_rate: float = 0.02,
    text: str | Sequence[str] = "commands",
) -> tuple[list[dict], list[Job]]:
    """Manifest records and audio jobs for ``num`` utterances (cheap: no audio yet).

    ``text`` names a generator (``TEXT_KINDS``) or gives the sentences themselves (held-out
    phrasings to score a model on), spoken by the same seeded voices.
    """
    sentences = None if isinstance(text, str) else list(text)
    if sentences is not None:
        num = min(num, len(sentences))
    elif text not in TEXT_KINDS:
        raise ValueError(f"unknown corpus text {text!r}; choose one of {sorted(TEXT_KINDS)}")
    names = variants()
    records, jobs = [], []
    for index in range(num):
        rng = np.random.default_rng([seed, index])
        utterance = TEXT_KINDS[text](rng) if sentences is None else Utterance("", ((sentences[index], None),))
        if rng.random() < decomposed_rate:
            utterance = utterance.decomposed()
        uid = utterance_id(seed, index)
        records.append(
            {
                "id": uid,
                "sentence": utterance.sentence,
                "intent": utterance.intent,
                "sentence_annotation": utterance.annotation,
                "entities": utterance.entities,
                "file": f"{uid}.wav",
            }
        )
        speech_text = normalize(utterance.sentence, numbers="verbalize")
        jobs.append(Job(str(out / "audio" / f"{uid}.wav"), speech_text, draw_rendering(rng, names)))
    return records, jobs


def write_corpus(
    out: str | Path,
    num: int,
    seed: int = 0,
    workers: int | None = None,
    decomposed_rate: float = 0.02,
    text: str | Sequence[str] = "commands",
) -> Path:
    """Generate the corpus under ``out``; returns the manifest path. Shows a progress bar."""
    out = Path(out)
    (out / "audio").mkdir(parents=True, exist_ok=True)
    records, jobs = plan(out, num, seed, decomposed_rate, text)
    num = len(records)
    workers = workers or min(len(os.sched_getaffinity(0)), 8)
    with mp.get_context("fork").Pool(workers, initializer=_init_worker) as pool:
        done: Iterable[str] = pool.imap(_write_wav, jobs, chunksize=16)
        for _ in track(done, total=len(jobs), description=f"synthesising {num} utterances"):
            pass
    manifest = out / "manifest.jsonl"
    partial = manifest.with_suffix(".partial")
    with partial.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    (out / "speakers.jsonl").write_text(
        "".join(json.dumps({"id": r["id"], **asdict(j.rendering)}) + "\n" for r, j in zip(records, jobs, strict=True)),
        encoding="utf-8",
    )
    partial.replace(manifest)  # last and atomic: ranks waiting for the corpus see it whole
    return manifest
