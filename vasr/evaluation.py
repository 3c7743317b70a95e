"""The evaluation behind ``evaluate.py``: a checkpoint or exported folder scored on a manifest."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path

import jiwer
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from vasr.model.decode import greedy_transcripts, posteriors
from vasr.model.export import load_for_inference
from vasr.model.metrics import error_rates
from vasr.pipeline import lm_decoder, load_corpus

log = logging.getLogger("vasr")


def evaluate(cfg: DictConfig) -> dict[str, float]:
    """Score ``cfg.model_path`` on ``cfg.split`` of ``cfg.data``, greedy and (where ``cfg.decode`` gives
    one) with the n-gram LM; writes predictions.jsonl and metrics.json."""
    folder = Path(HydraConfig.get().runtime.output_dir) if HydraConfig.initialized() else Path(cfg.paths.output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    splits, _ = load_corpus(cfg)
    items = [i for name in ("train", "val", "test") for i in splits[name]] if cfg.split == "all" else splits[cfg.split]
    model, tokenizer = load_for_inference(cfg.model_path)
    log_probs, seconds = posteriors(model, tokenizer, items, cfg.batch_size)
    hyps = greedy_transcripts(tokenizer, log_probs)
    decoder, tuned = lm_decoder(cfg.decode, model, tokenizer, splits, folder, cfg.model_path, cfg.batch_size)
    lm_hyps = decoder.decode(log_probs) if decoder else None
    with (folder / "predictions.jsonl").open("w", encoding="utf-8") as handle:
        for index, (item, hyp) in enumerate(zip(items, hyps, strict=True)):
            row = {"id": item.id, "reference": item.text, "hypothesis": hyp, "wer": jiwer.wer(item.text, hyp)}
            if lm_hyps is not None:
                row |= {"lm_hypothesis": lm_hyps[index], "lm_wer": jiwer.wer(item.text, lm_hyps[index])}
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    rates = error_rates((item.id, item.text, hyp) for item, hyp in zip(items, hyps, strict=True))
    audio = sum(item.duration for item in items)
    rates |= {"audio_seconds": audio, "wall_seconds": seconds, "real_time_factor": seconds / max(audio, 1e-9)}
    line = f"WER {rates['wer']:.4f} CER {rates['cer']:.4f}"
    if lm_hyps is not None:
        lm_rates = error_rates((item.id, item.text, hyp) for item, hyp in zip(items, lm_hyps, strict=True))
        rates |= tuned | {"lm_wer": lm_rates["wer"], "lm_cer": lm_rates["cer"], **asdict(decoder.settings)}
        line += f" greedy; with the n-gram LM WER {lm_rates['wer']:.4f} CER {lm_rates['cer']:.4f}"
    (folder / "metrics.json").write_text(json.dumps(rates, indent=1))
    print(
        f"\n{cfg.model_path} on {len(items)} utterances ({cfg.split}): {line} "
        f"RTF {rates['real_time_factor']:.4f}\npredictions: {folder / 'predictions.jsonl'}"
    )
    return rates
