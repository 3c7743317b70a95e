"""The robustness ablation: the default fine-tune with each lever off and on, scored clean and in rooms and
noise that training never used.

python bench/robustness.py [--rows baseline,augment,schedule] [--out runs/robustness]
    ->  a table (robustness.md, robustness.csv in --out) and
        RESULT robustness_noisy <noisy WER with the LM of the last row / that of the first>

Each row is one ``python train.py`` run (the default command with the row's overrides; a finished
row is reused). Every run keeps its 3 best checkpoints, so each row is scored twice: its best
checkpoint and the average of the three (the ``+ average`` rows). The test condition is the run's
own held-out test split, clean and again heard in a simulated room and noise, both unlike
anything in training:

- rooms: image-source shoebox rooms (pyroomacoustics, ``pip install -e .[bench]``) of 3-8 x 3-6 x
  2.5-3.5 m, aimed at RT60 0.3-0.7 s, random source and microphone; training's rooms are
  vasr's statistical (Polack) responses, a different generator.
- noise at 5-15 dB SNR of three kinds training never mixes in: music (notes and chords with
  envelopes), clatter (dishes, knocks, steps: decaying bursts at random times) and a vacuum
  cleaner or fan (a resonant, slowly modulated band); training mixes coloured noise, babble and hum.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from common import write_table

from vasr.audio import SAMPLE_RATE, load_audio
from vasr.augment.transforms import fft_convolve, mix
from vasr.data.manifest import read_manifest
from vasr.decoding.beam import BeamDecoder
from vasr.decoding.ctc import CTCDecoding
from vasr.model.averaging import average_checkpoints
from vasr.model.export import load_for_inference
from vasr.recipe.evaluation import score
from vasr.recipe.run_folder import RunFolder

ROOT = Path(__file__).resolve().parents[1]
KEEP_THREE = "callbacks.best_checkpoint.save_top_k=3"  # every row keeps 3 for the average
SCHEDULE = [
    "optim=tri_stage",
    "model.scheduler.num_warmup_steps=null",  # the warm-up as a share of the run: 10%
    "model.freeze_transformer_steps=100",
    "model.head_lr=4e-3",
]
ROWS = {  # the last row is the default run
    "baseline": ["augment=none"],
    "strong": ["augment=strong"],
    "strong+schedule": ["augment=strong", *SCHEDULE],
    "default": ["augment=default"],
}


def music(rng: np.random.Generator, n: int) -> np.ndarray:
    """Notes and chords of harmonic tones with attack/decay envelopes."""
    out = np.zeros(n, np.float32)
    at = 0
    while at < n:
        length = int(rng.uniform(0.15, 0.6) * SAMPLE_RATE)
        t = np.arange(min(length, n - at)) / SAMPLE_RATE
        envelope = np.minimum(t / 0.01, 1.0) * np.exp(-t * rng.uniform(2, 8))
        for _ in range(int(rng.integers(1, 4))):
            f0 = 110 * 2 ** (int(rng.integers(0, 36)) / 12)
            out[at : at + t.size] += envelope * sum(np.sin(2 * np.pi * f0 * k * t) / k**1.5 for k in range(1, 6))
        at += length
    return out


def clatter(rng: np.random.Generator, n: int) -> np.ndarray:
    """Decaying broadband bursts at random times (dishes, knocks, footsteps)."""
    out = np.zeros(n, np.float32)
    for at in np.sort(rng.integers(0, n, int(rng.uniform(2, 8) * n / SAMPLE_RATE) + 1)):
        length = min(int(rng.uniform(0.02, 0.25) * SAMPLE_RATE), n - at)
        t = np.arange(length) / SAMPLE_RATE
        burst = rng.standard_normal(length) * np.exp(-t * rng.uniform(20, 120))
        ring = np.sin(2 * np.pi * rng.uniform(300, 4000) * t)
        out[at : at + length] += rng.uniform(0.2, 1.0) * burst * (0.5 + 0.5 * ring)
    return out


def appliance(rng: np.random.Generator, n: int) -> np.ndarray:
    """A vacuum cleaner or fan: noise through a resonance, slowly modulated."""
    centre, width = rng.uniform(400, 3000), rng.uniform(100, 800)
    size = 1 << (n - 1).bit_length()
    freqs = np.fft.rfftfreq(size, 1 / SAMPLE_RATE)
    shape = np.exp(-0.5 * ((freqs - centre) / width) ** 2) + 0.05
    band = np.fft.irfft(np.fft.rfft(rng.standard_normal(size)) * shape, size)[:n]
    t = np.arange(n) / SAMPLE_RATE
    return (band * (1 + 0.3 * np.sin(2 * np.pi * rng.uniform(0.2, 3) * t))).astype(np.float32)


HELD_OUT_NOISE = (music, clatter, appliance)


def shoebox_rooms(count: int, seed: int) -> tuple[list[np.ndarray], list[float]]:
    """``count`` image-source room responses and their measured RT60s."""
    import pyroomacoustics as pra

    rng = np.random.default_rng([seed, 0x500])
    responses, rt60s = [], []
    for _ in range(count):
        dims = rng.uniform([3, 3, 2.5], [8, 6, 3.5])
        absorption, order = pra.inverse_sabine(rng.uniform(0.3, 0.7), dims)
        room = pra.ShoeBox(dims, fs=SAMPLE_RATE, materials=pra.Material(absorption), max_order=order)
        room.add_source(rng.uniform(0.5, dims - 0.5))
        room.add_microphone(rng.uniform(0.5, dims - 0.5))
        room.compute_rir()
        responses.append(np.asarray(room.rir[0][0], np.float32))
        rt60s.append(float(room.measure_rt60()[0][0]))
    return responses, rt60s


def noisy_copy(manifest: Path, audio_dir: Path, out: Path, seed: int = 99) -> Path:
    """The utterances of ``manifest`` in a held-out room and noise (same ids and texts), written once."""
    target = out / "manifest.jsonl"
    if target.exists():
        return target
    (out / "audio").mkdir(parents=True, exist_ok=True)
    rooms, rt60s = shoebox_rooms(40, seed)
    lines = manifest.read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        record = json.loads(line)
        rng = np.random.default_rng([seed, index])
        speech = load_audio(Path(audio_dir) / record["file"])
        response = rooms[int(rng.integers(len(rooms)))]
        direct = int(np.argmax(np.abs(response)))
        wet = fft_convolve(speech, response / np.abs(response[direct]))[direct : direct + speech.size]
        noise = HELD_OUT_NOISE[index % len(HELD_OUT_NOISE)](rng, speech.size)
        audio = mix(wet, noise, rng.uniform(5, 15))
        record["file"] = Path(record["file"]).name
        sf.write(out / "audio" / record["file"], audio / max(1.0, float(np.abs(audio).max())), SAMPLE_RATE)
        lines[index] = json.dumps(record, ensure_ascii=False)
    target.with_suffix(".tmp").write_text("\n".join(lines) + "\n", encoding="utf-8")
    target.with_suffix(".tmp").replace(target)
    (out / "rooms.json").write_text(json.dumps({"rt60_measured": rt60s}))
    print(
        f"held-out condition: {len(lines)} utterances, {len(rooms)} rooms (measured RT60 "
        f"{min(rt60s):.2f}-{max(rt60s):.2f} s), SNR 5-15 dB, noise {', '.join(f.__name__ for f in HELD_OUT_NOISE)}"
    )
    return target


def train_row(name: str, overrides: list[str], out: Path) -> Path:
    """The run folder of row ``name``, trained by ``train.py`` unless it already finished."""
    folder = out / "runs" / "train" / name
    if not (folder / "results.json").exists():
        command = [
            sys.executable,
            "train.py",
            f"run_name={name}",
            f"paths.runs_dir={out / 'runs'}",
            "logger=csv",
            KEEP_THREE,
            *overrides,
        ]
        print("$", " ".join(command), flush=True)
        subprocess.run(command, cwd=ROOT, check=True)
    return folder


def score_model(model, tokenizer, export: Path, items) -> dict[str, float]:
    decoding = CTCDecoding(tokenizer, BeamDecoder.load(export, tokenizer))
    return score(model, decoding, items, 32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated, of {', '.join(ROWS)}")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "robustness")
    args = parser.parse_args()
    table = []
    for name in args.rows.split(","):
        folder = train_row(name, ROWS[name], args.out)
        results = json.loads((folder / "results.json").read_text())
        split = folder / "split" / "test.jsonl"
        clean, _ = read_manifest(split, "/", numbers="verbalize")
        noisy_manifest = noisy_copy(split, Path("/"), args.out / "heldout")
        noisy, _ = read_manifest(noisy_manifest, args.out / "heldout" / "audio", numbers="verbalize")
        kept = sorted(RunFolder(folder).checkpoints.glob("best-*.ckpt"))
        export = folder / "export"
        candidates = {name: lambda export=export: load_for_inference(export)}
        if len(kept) > 1:
            candidates[f"{name} + average"] = lambda kept=kept: average_checkpoints(kept)
        for row, load in candidates.items():
            model, tokenizer = load()
            scores = {
                "clean": score_model(model.eval(), tokenizer, export, clean),
                "noisy": score_model(model.eval(), tokenizer, export, noisy),
            }
            table.append(
                {
                    "row": row,
                    "clean greedy": scores["clean"]["wer"],
                    "clean LM": scores["clean"]["lm_wer"],
                    "noisy greedy": scores["noisy"]["wer"],
                    "noisy LM": scores["noisy"]["lm_wer"],
                    "fit s": results["fit_seconds"],
                    "exported": results.get("exported", ""),
                    "command": "python train.py " + " ".join(ROWS[name]),
                }
            )
            print({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in table[-1].items()}, flush=True)
    write_table(table, args.out, "robustness", cell)
    print(f"RESULT robustness_noisy {table[-1]['noisy LM'] / table[0]['noisy LM']:.4f}")


def cell(key: str, value) -> str:
    if key == "fit s":
        return f"{value:.0f}"
    return f"{value:.1%}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"bench/robustness.py: {time.perf_counter() - started:.0f} s")
