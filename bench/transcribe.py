"""vasr-transcribe's batched transcriber against transformers' ASR pipeline, on the same export, files and threads.

python bench/transcribe.py [--export DIR] [--short 300] [--long 10] [--minutes 5] [--quick] [--out DIR]

Greedy decoding throughout. Short files: the export's run's test split (or the demo corpus's first files); long
recordings: test utterances joined with 0.3-1.0 s pauses, ``--minutes`` each. Measured for the trained export
(speed and WER) and for the base-size wav2vec 2.0 architecture with random weights and the same vocabulary (speed
only: the weights do not change the arithmetic). For each: vasr (``Transcriber`` as vasr-transcribe builds it), the
pipeline at ``batch_size=1`` (unpadded, the WER the others must keep) and at ``batch_size=8``, both with
``chunk_length_s=20``. Prints audio seconds per second and WER, and the ratios as ``RESULT`` lines; a table goes to
``--out``/transcribe.md.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import jiwer
import numpy as np
import soundfile as sf
import torch
from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2ForCTC, pipeline

from vasr import ASSETS
from vasr.audio import SAMPLE_RATE, load_audio
from vasr.data.manifest import read_manifest
from vasr.decoding.config import DecodeConfig
from vasr.infer.recordings import transcriber_for
from vasr.model.export import load_for_inference


def latest_export() -> Path | None:
    found = sorted(Path("runs/train").glob("*/export/model.safetensors"), key=lambda p: p.stat().st_mtime)
    return found[-1].parent if found else None


def short_items(export: Path, count: int) -> list:
    """The export's run's test split, or the demo corpus's files (numbers spoken, as the model writes them)."""
    split = export.parent / "split" / "test.jsonl"
    manifest, audio = (split, None) if split.exists() else (Path("data/demo/manifest.jsonl"), Path("data/demo/audio"))
    items, _ = read_manifest(manifest, audio or manifest.parent, numbers="verbalize")
    return items[:count]


def long_recordings(items: list, count: int, minutes: float, folder: Path) -> tuple[list[str], list[str]]:
    """``count`` recordings of ``minutes`` each, utterances cycled with seeded pauses; their paths and texts."""
    rng = np.random.default_rng(0)
    paths, texts, cursor = [], [], 0
    for number in range(count):
        parts, words, total = [], [], 0.0
        while total < minutes * 60:
            item = items[cursor % len(items)]
            cursor += 1
            pause = np.zeros(int(rng.uniform(0.3, 1.0) * SAMPLE_RATE), np.float32)
            parts += [load_audio(item.path), pause]
            words.append(item.text)
            total += item.duration + len(pause) / SAMPLE_RATE
        path = folder / f"long-{number}.wav"
        sf.write(path, np.concatenate(parts), SAMPLE_RATE)
        paths.append(str(path))
        texts.append(" ".join(words))
    return paths, texts


def base_size_export(export: Path, folder: Path) -> Path:
    """wav2vec 2.0 base's architecture (GroupNorm feature encoder, no attention mask) with random weights and the
    export's vocabulary and processor."""
    _, tokenizer = load_for_inference(export)
    torch.manual_seed(0)
    config = Wav2Vec2Config(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id)
    Wav2Vec2ForCTC(config).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    Wav2Vec2FeatureExtractor(return_attention_mask=False).save_pretrained(folder)
    return folder


def by_vasr(model: Path, paths: list[str]) -> tuple[list[str], float]:
    transcriber = transcriber_for(str(model), DecodeConfig(lm=None), "cpu")
    start = time.perf_counter()
    texts = [t.text for t in transcriber.transcribe(paths)]
    return texts, time.perf_counter() - start


def by_pipeline(model: Path, paths: list[str], batch_size: int) -> tuple[list[str], float]:
    asr = pipeline("automatic-speech-recognition", model=str(model), device=-1)
    start = time.perf_counter()
    inputs = [{"raw": load_audio(p), "sampling_rate": SAMPLE_RATE} for p in paths]
    found = asr(inputs, batch_size=batch_size, chunk_length_s=20)
    return [row["text"] for row in found], time.perf_counter() - start


def measure(model: Path, paths: list[str], references: list[str] | None, seconds: float) -> dict[str, dict]:
    found = {}
    for name, run in (
        ("vasr", lambda: by_vasr(model, paths)),
        ("pipeline_batch1", lambda: by_pipeline(model, paths, 1)),
        ("pipeline_batch8", lambda: by_pipeline(model, paths, 8)),
    ):
        texts, wall = run()
        row = {"audio_seconds_per_second": seconds / wall}
        if references is not None:
            row["wer"] = jiwer.wer(references, texts)
        found[name] = row
        print(name, json.dumps(row), flush=True)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--export", type=Path, default=None, help="default: the newest runs/train/*/export")
    parser.add_argument("--short", type=int, default=300)
    parser.add_argument("--long", type=int, default=10)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--quick", action="store_true", help="40 short files, 2 two-minute recordings")
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    args = parser.parse_args()
    if args.quick:
        args.short, args.long, args.minutes = 40, 2, 2.0
    export = args.export or latest_export() or ASSETS / "vasr-tiny-vi"
    torch.set_num_threads(torch.get_num_threads())
    items = short_items(export, args.short)
    table = {}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        long_paths, long_texts = long_recordings(items, args.long, args.minutes, folder)
        base = base_size_export(export, folder / "base")
        sets = {
            "short": ([i.path for i in items], [i.text for i in items], sum(i.duration for i in items)),
            "long": (long_paths, long_texts, sum(sf.info(p).duration for p in long_paths)),
        }
        for model_name, model in (("tiny", export), ("base", base)):
            for set_name, (paths, references, seconds) in sets.items():
                print(f"{model_name} on {set_name} ({len(paths)} files, {seconds:.0f} s):", flush=True)
                scored = references if model_name == "tiny" else None
                table[(model_name, set_name)] = measure(model, paths, scored, seconds)
    lines = ["| model | files | method | audio s/s | WER |", "|---|---|---|---|---|"]
    for (model_name, set_name), rows in table.items():
        for method, row in rows.items():
            wer = f"{row['wer']:.2%}" if "wer" in row else "—"
            lines.append(f"| {model_name} | {set_name} | {method} | {row['audio_seconds_per_second']:.0f} | {wer} |")
        speed = rows["vasr"]["audio_seconds_per_second"] / rows["pipeline_batch8"]["audio_seconds_per_second"]
        print(f"RESULT {model_name}_{set_name}_speed_vs_pipeline_batch8 {speed:.2f}")
        if "wer" in rows["vasr"]:
            delta = 100 * (rows["vasr"]["wer"] - rows["pipeline_batch1"]["wer"])
            print(f"RESULT {model_name}_{set_name}_wer_points_vs_unpadded_pipeline {delta:.2f}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "transcribe.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
