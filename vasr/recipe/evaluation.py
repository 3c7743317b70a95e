"""Scoring a model on a split: log-probabilities computed once, decoded greedy and with the n-gram LM.

``evaluate.py`` and the end of a training run share these steps.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from transformers import Wav2Vec2ForCTC

from vasr.data.corpus import Splits, load_corpus
from vasr.data.manifest import Item
from vasr.decoding.ctc import CTCDecoding, DecodeConfig
from vasr.decoding.metrics import error_rates, write_predictions
from vasr.decoding.tune import tune
from vasr.infer.posteriors import posteriors
from vasr.model.export import load_for_inference, model_folder

log = logging.getLogger("vasr")


def tune_lm(
    model: Wav2Vec2ForCTC, decoding: CTCDecoding, cfg: DecodeConfig, val: list[Item], batch_size: int, folder: Path
) -> tuple[CTCDecoding, dict[str, float]]:
    """The LM weights left unset in ``cfg`` chosen by WER on the validation split (``lm_tuning.csv``);
    the test split never takes part."""
    beam = decoding.beam
    if beam is None or beam.lm is None or not cfg.needs_tuning or not val:
        return decoding, {}
    log_probs, _ = posteriors(model, decoding.tokenizer, val, batch_size)
    alphas, betas = cfg.weight_grid
    best, rows = tune(beam, log_probs, [item.text for item in val], alphas, betas, folder / "lm_tuning.csv")
    found = {"lm/alpha": best.settings.alpha, "lm/beta": best.settings.beta, "lm/val_wer": min(r["wer"] for r in rows)}
    return CTCDecoding(decoding.tokenizer, best), found


def score(
    model: Wav2Vec2ForCTC, decoding: CTCDecoding, items: list[Item], batch_size: int, predictions: Path
) -> dict[str, float]:
    """WER/CER of ``items``, greedy and (when ``decoding`` has an n-gram) with it, from one pass of the model;
    one line per utterance in ``predictions``; the real-time factor of the network's pass."""
    log_probs, seconds = posteriors(model, decoding.tokenizer, items, batch_size)
    hypotheses = {"greedy": decoding.greedy(log_probs)}
    if (with_lm := decoding.with_lm(log_probs)) is not None:
        hypotheses["lm"] = with_lm
    rates = write_predictions(predictions, items, hypotheses)
    audio = sum(item.duration for item in items)
    return rates | {"audio_seconds": audio, "wall_seconds": seconds, "real_time_factor": seconds / max(audio, 1e-9)}


def choose_export(
    candidates: dict[str, Wav2Vec2ForCTC], decoding: CTCDecoding, val: list[Item], batch_size: int
) -> tuple[str, dict[str, float]]:
    """The candidate (e.g. the best checkpoint, the average of the best few) with the lowest greedy val WER,
    all scored by the same pass; ties go to the first. Returns its name and every candidate's val WER."""
    scores: dict[str, float] = {}
    for name, model in candidates.items():
        log_probs, _ = posteriors(model.eval(), decoding.tokenizer, val, batch_size)
        scores[name] = error_rates(
            [(i.id, i.text, hyp) for i, hyp in zip(val, decoding.greedy(log_probs), strict=True)]
        )["wer"]
        log.info("export candidate %s: val WER %.4f", name, scores[name])
    chosen = min(scores, key=lambda name: scores[name])
    return chosen, {f"export/val_wer_{name.replace(' ', '_')}": wer for name, wer in scores.items()}


def test_best(
    model: Wav2Vec2ForCTC, decoding: CTCDecoding, cfg: DecodeConfig, splits: Splits, folder: Path, batch_size: int
) -> dict[str, float]:
    """After fitting: LM weights tuned on val, the test split scored once both ways (``predictions.jsonl``),
    the decoder shipped in ``export/language_model``."""
    decoding, found = tune_lm(model, decoding, cfg, splits["val"], batch_size, folder)
    rates = score(model, decoding, splits["test"], batch_size, folder / "predictions.jsonl")
    results = found | {"test/wer": rates["wer"], "test/cer": rates["cer"]}
    if decoding.beam is not None:
        decoding.beam.save(folder / "export", lm=str(cfg.lm), val_wer=found.get("lm/val_wer", float("nan")))
        results |= {"test/lm_wer": rates["lm_wer"], "test/lm_cer": rates["lm_cer"]}
    return results


def evaluate(cfg: DictConfig) -> dict[str, float]:
    """Score ``cfg.model_path`` on ``cfg.split`` of ``cfg.data``, greedy and (where ``cfg.decode`` gives one)
    with the n-gram LM; writes predictions.jsonl and metrics.json into the evaluation's folder."""
    folder = Path(cfg.paths.output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    splits, _ = load_corpus(cfg.data, cfg.seed)
    items = [i for name in ("train", "val", "test") for i in splits[name]] if cfg.split == "all" else splits[cfg.split]
    folder_of_model = model_folder(cfg.model_path)
    model, tokenizer = load_for_inference(folder_of_model or cfg.model_path)
    decode = DecodeConfig(**OmegaConf.to_container(cfg.decode, resolve=True))
    train_texts = [i.text for i in splits["train"]]
    decoding = CTCDecoding.from_config(decode, tokenizer, train_texts, model_dir=folder_of_model)
    if decoding.beam is None and decode.lm == "auto":
        log.info("%s has no language_model/: greedy decoding only", cfg.model_path)
    decoding, tuned = tune_lm(model, decoding, decode, splits["val"], cfg.batch_size, folder)
    rates = score(model, decoding, items, cfg.batch_size, folder / "predictions.jsonl") | tuned
    line = f"WER {rates['wer']:.4f} CER {rates['cer']:.4f}"
    if decoding.beam is not None:
        rates |= {"alpha": decoding.beam.settings.alpha, "beta": decoding.beam.settings.beta}
        line += f" greedy; with the n-gram LM WER {rates['lm_wer']:.4f} CER {rates['lm_cer']:.4f}"
    (folder / "metrics.json").write_text(json.dumps(rates, indent=1))
    print(
        f"\n{cfg.model_path} on {len(items)} utterances ({cfg.split}): {line} "
        f"RTF {rates['real_time_factor']:.4f}\npredictions: {folder / 'predictions.jsonl'}"
    )
    return rates
