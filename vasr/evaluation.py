"""The evaluation behind ``evaluate.py``: a checkpoint or exported folder scored on a manifest."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import jiwer
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig
from rich.progress import track
from torch.utils.data import DataLoader

from vasr.data.collate import CTCCollator
from vasr.data.dataset import SpeechDataset
from vasr.data.manifest import Item
from vasr.data.sampler import BucketBatchSampler
from vasr.model.decode import greedy_decode
from vasr.model.export import load_for_inference
from vasr.model.metrics import error_rates
from vasr.pipeline import load_corpus

log = logging.getLogger("vasr")


def transcribe(model, tokenizer, items: list[Item], batch_size: int = 1) -> tuple[list[str], float]:
    """Greedy transcripts in item order and the wall time; batch 1 feeds each utterance unpadded."""
    use_mask = model.config.feat_extract_norm == "layer"
    dataset = SpeechDataset(items, tokenizer)
    sampler = BucketBatchSampler(dataset.durations, batch_size=batch_size, shuffle=False)
    loader = DataLoader(dataset, batch_sampler=sampler, collate_fn=CTCCollator(use_mask))
    hyps: dict[str, str] = {}
    start = time.perf_counter()
    with torch.inference_mode():
        for batch in track(loader, description=f"transcribing {len(items)} utterances"):
            logits = model(batch["input_values"], attention_mask=batch.get("attention_mask")).logits
            hyps.update(zip(batch["ids"], greedy_decode(model, tokenizer, logits, batch["input_lengths"]), strict=True))
    return [hyps[item.id] for item in items], time.perf_counter() - start


def evaluate(cfg: DictConfig) -> dict[str, float]:
    """Score ``cfg.model_path`` on ``cfg.split`` of ``cfg.data``; writes predictions.jsonl and metrics.json."""
    folder = Path(HydraConfig.get().runtime.output_dir) if HydraConfig.initialized() else Path(cfg.paths.output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    splits, _ = load_corpus(cfg)
    items = [i for name in ("train", "val", "test") for i in splits[name]] if cfg.split == "all" else splits[cfg.split]
    model, tokenizer = load_for_inference(cfg.model_path)
    hyps, seconds = transcribe(model, tokenizer, items, cfg.batch_size)
    with (folder / "predictions.jsonl").open("w", encoding="utf-8") as handle:
        for item, hyp in zip(items, hyps, strict=True):
            row = {"id": item.id, "reference": item.text, "hypothesis": hyp, "wer": jiwer.wer(item.text, hyp)}
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    rates = error_rates((item.id, item.text, hyp) for item, hyp in zip(items, hyps, strict=True))
    audio = sum(item.duration for item in items)
    rates |= {"audio_seconds": audio, "wall_seconds": seconds, "real_time_factor": seconds / max(audio, 1e-9)}
    (folder / "metrics.json").write_text(json.dumps(rates, indent=1))
    print(
        f"\n{cfg.model_path} on {len(items)} utterances ({cfg.split}): WER {rates['wer']:.4f} CER {rates['cer']:.4f} "
        f"RTF {rates['real_time_factor']:.4f}\npredictions: {folder / 'predictions.jsonl'}"
    )
    return rates
