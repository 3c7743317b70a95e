"""What augmentation costs the loader: milliseconds of one CPU core per second of training audio, for each
of vasr's transforms beside the nearest audiomentations transform (``pip install -e .[bench]``).

python bench/augment.py [--utterances 100]
    ->  RESULT augment_cost <vasr's default chain over audiomentations' nearest chain, ms per audio second>

Both sides get the same 16 kHz demo utterances (``data/demo``, made by ``python train.py`` or
``python -m vasr.synth``), every transform applied (p = 1), one process. Folder transforms read from
folders written here (coloured noise files; vasr's synthetic rooms saved as WAVs), so both read the
same files. Printed beside: the expected cost of ``conf/augment/default.yaml`` with its probabilities.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from hydra.utils import instantiate
from omegaconf import OmegaConf

from vasr.audio import SAMPLE_RATE, load_audio
from vasr.augment import (
    AddNoise,
    Augmentation,
    Babble,
    ColouredNoise,
    Hum,
    NoiseFolder,
    Reverb,
    RirFolder,
    SampleKey,
    SyntheticRooms,
)

ROOT = Path(__file__).resolve().parents[1]


def ms_per_second(apply, audios: list[np.ndarray]) -> float:
    """Milliseconds per audio second of ``apply(audio, index)`` over ``audios`` (after one warm-up call)."""
    apply(audios[0], 0)
    start = time.perf_counter()
    for index, audio in enumerate(audios):
        apply(audio, index)
    return (time.perf_counter() - start) * 1000 / (sum(a.size for a in audios) / SAMPLE_RATE)


def vasr_side(transform) -> callable:
    chain = Augmentation(speeds=None, only=transform)
    return lambda audio, index: chain(audio, 0, SampleKey(index, 1))


def library_side(transform) -> callable:
    return lambda audio, index: transform(samples=audio, sample_rate=SAMPLE_RATE)


def folders(root: Path) -> tuple[Path, Path]:
    """A noise folder and an impulse-response folder both sides read."""
    rng = np.random.default_rng(0)
    noise, rirs = root / "noise", root / "rirs"
    noise.mkdir()
    rirs.mkdir()
    for i in range(20):
        sf.write(noise / f"n{i}.wav", ColouredNoise().draw(rng, 10 * SAMPLE_RATE) * 0.1, SAMPLE_RATE)
        sf.write(rirs / f"r{i}.wav", SyntheticRooms().draw(rng) * 0.5, SAMPLE_RATE)
    return noise, rirs


def main() -> None:
    import audiomentations as am

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--utterances", type=int, default=100)
    args = parser.parse_args()
    paths = sorted((ROOT / "data" / "demo" / "audio").glob("*.wav"))[: args.utterances]
    if not paths:
        raise SystemExit("no data/demo/audio: run `python -m vasr.synth --out data/demo` first")
    audios = [load_audio(p) for p in paths]
    babble = Babble()
    babble.bind([str(p) for p in paths], 0)
    with tempfile.TemporaryDirectory() as tmp:
        noise_dir, rir_dir = folders(Path(tmp))
        speed = Augmentation(speeds=(1.1,))
        rows = [
            (
                "speed 1.1 (soxr) | TimeStretch 1.1 (signalsmith)",
                lambda a, i: speed(a, 0, SampleKey(i, 1, 1.1)),
                library_side(am.TimeStretch(min_rate=1.1, max_rate=1.1, leave_length_unchanged=False, p=1.0)),
            ),
            (
                "coloured noise | AddColorNoise",
                vasr_side(AddNoise([ColouredNoise()], p=1.0)),
                library_side(am.AddColorNoise(p=1.0)),
            ),
            (
                "noise folder | AddBackgroundNoise",
                vasr_side(AddNoise([NoiseFolder(str(noise_dir))], p=1.0)),
                library_side(am.AddBackgroundNoise(str(noise_dir), p=1.0)),
            ),
            (
                "impulse-response folder | ApplyImpulseResponse",
                vasr_side(Reverb(RirFolder(str(rir_dir)), p=1.0)),
                library_side(am.ApplyImpulseResponse(str(rir_dir), p=1.0)),
            ),
            (
                "synthetic room (Polack) | RoomSimulator (pyroomacoustics)",
                vasr_side(Reverb(SyntheticRooms(), p=1.0)),
                library_side(am.RoomSimulator(p=1.0, leave_length_unchanged=True)),
            ),
            ("babble | -", vasr_side(AddNoise([babble], p=1.0)), None),
            ("hum | -", vasr_side(AddNoise([Hum()], p=1.0)), None),
        ]
        totals = [0.0, 0.0]
        print(f"{len(audios)} utterances, {sum(a.size for a in audios) / SAMPLE_RATE:.0f} s; ms per audio second")
        print("| vasr | audiomentations | vasr ms/s | audiomentations ms/s |\n|---|---|---|---|")
        for name, ours, theirs in rows:
            mine = ms_per_second(ours, audios)
            other = ms_per_second(theirs, audios) if theirs else float("nan")
            if theirs and "noise folder" not in name and "synthetic" not in name:
                totals[0] += mine
                totals[1] += other
            left, right = name.split(" | ")
            print(f"| {left} | {right} | {mine:.2f} | {other:.2f} |")
        default = instantiate(OmegaConf.load(ROOT / "conf" / "augment" / "default.yaml"))
        default.bind([str(p) for p in paths], 0)
        speeds = default.epoch_speeds(0, 1, len(audios))
        cost = ms_per_second(lambda a, i: default(a, 0, SampleKey(i, 1, float(speeds[i]))), audios)
        print(f"conf/augment/default.yaml as configured (its probabilities): {cost:.2f} ms per audio second")
    print(f"speed + coloured noise + impulse-response folder: vasr {totals[0]:.2f}, audiomentations {totals[1]:.2f}")
    print(f"RESULT augment_cost {totals[0] / totals[1]:.3f}")


if __name__ == "__main__":
    main()
