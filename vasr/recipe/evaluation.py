"""Scoring a model on a split: log-probabilities computed once (on the device), decoded greedy and with the
n-gram LM; ``evaluate.py``, the scores before and after a training run, and the LM weight search share it."""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import jiwer
from omegaconf import DictConfig
from transformers import PreTrainedModel

from vasr.data.corpus import load_corpus, load_test_sets
from vasr.data.features import AudioFeatures
from vasr.data.index import UtteranceIndex
from vasr.data.manifest import Item
from vasr.data.mix import groups_of
from vasr.decoding.confidence import overall_confidence, reliability, word_confidences, word_correctness
from vasr.decoding.config import DecodeConfig
from vasr.decoding.ctc import CTCDecoding
from vasr.decoding.metrics import error_rates, rates_by_group
from vasr.decoding.tune import tune
from vasr.infer.posteriors import posteriors
from vasr.model.export import load_features, load_for_inference, model_folder
from vasr.recipe.nlu import READING_NAMES, corpus_examples, score_readings, slu_results
from vasr.recipe.run_folder import RunFolder
from vasr.slu.model import NluModel

log = logging.getLogger("vasr")


def tune_lm(
    model: PreTrainedModel,
    decoding: CTCDecoding,
    cfg: DecodeConfig,
    val: list[Item],
    batch_size: int,
    run: RunFolder,
    device: str = "auto",
    features: AudioFeatures | None = None,
) -> tuple[CTCDecoding, dict[str, float]]:
    """The LM weights of ``cfg.tune`` chosen by WER on the validation split (every point in ``lm_tuning.csv``);
    the test split never takes part. ``features`` make the model's input (None: its family's default)."""
    grid = cfg.weight_grid
    if decoding.beam is None or decoding.beam.lm is None or grid is None or not val:
        return decoding, {}
    log_probs, _ = posteriors(model, decoding.tokenizer, val, batch_size, device, features)
    best, rows = tune(decoding.beam, log_probs, [item.text for item in val], *grid)
    found = {"lm/alpha": best.settings.alpha, "lm/beta": best.settings.beta}
    if rows:
        found["lm/val_wer"] = min(r["wer"] for r in rows)
        if run.is_writer:
            with (run.root / "lm_tuning.csv").open("w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
    return decoding.with_beam(best), found


def scored_words(decoding: CTCDecoding, log_probs: Sequence) -> list[list[tuple[str, float, int]]]:
    """Per utterance, the decoding's best transcript (the beam's when it has one) as (word, confidence, frames)."""
    utterances = []
    for rows in log_probs:
        words = decoding.words(rows)
        scores = word_confidences(rows, words, decoding.tokenizer)
        utterances.append([(w, c, n) for (w, _, _), (c, n) in zip(words, scores, strict=True)])
    return utterances


def confidences(decoding: CTCDecoding, log_probs: Sequence, items: Sequence[Item]) -> list[list[tuple[float, bool]]]:
    """Per utterance, each decoded word's (confidence, whether the reference has it there)."""
    pairs = []
    for item, words in zip(items, scored_words(decoding, log_probs), strict=True):
        right = word_correctness(item.text, " ".join(w for w, _, _ in words))
        pairs.append([(confidence, correct) for (_, confidence, _), correct in zip(words, right, strict=True)])
    return pairs


def write_reliability(
    model: PreTrainedModel,
    decoding: CTCDecoding,
    val: list[Item],
    batch_size: int,
    run: RunFolder,
    device: str = "auto",
    features: AudioFeatures | None = None,
) -> dict[str, float]:
    """The reliability table of word confidences on the validation split (``confidence_reliability.csv``: bins of
    confidence against word accuracy), and its expected calibration error (bin-weighted |accuracy - confidence|)."""
    if not val:
        return {}
    log_probs, _ = posteriors(model, decoding.tokenizer, val, batch_size, device, features)
    table = reliability(pair for words in confidences(decoding, log_probs, val) for pair in words)
    if not table:
        return {}
    with run.reliability.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
    words = sum(row["words"] for row in table)
    error = sum(row["words"] * abs(row["accuracy"] - row["mean_confidence"]) for row in table) / words
    return {"confidence/val_calibration_error": round(error, 4)}


# Rows per test set (several corpora, ``data.test_sets``): set name -> wer, cer, lm_wer, lm_cer, n_utterances, hours.
Table = dict[str, dict[str, float]]


def score(
    model: PreTrainedModel,
    decoding: CTCDecoding,
    items: Sequence[Item],
    batch_size: int,
    predictions: Path | None = None,
    device: str = "auto",
    features: AudioFeatures | None = None,
    groups: Mapping[str, str] | None = None,
) -> dict[str, float | Table]:
    """WER/CER of ``items``, greedy and (when ``decoding`` has an n-gram) with it, from one pass of the model on
    ``device`` over inputs ``features`` make (the model's own extractor's: the input it was trained on; None: its
    family's default); one line per utterance in ``predictions``; the real-time factor of the network's pass.
    With ``groups`` (utterance id -> its test set), also ``test_sets``: a row per set from the same pass, the
    papers' table over several test sets."""
    log_probs, seconds = posteriors(model, decoding.tokenizer, items, batch_size, device, features)
    hypotheses = {"greedy": decoding.greedy(log_probs)}
    if (with_lm := decoding.with_lm(log_probs)) is not None:
        hypotheses["lm"] = with_lm
    if predictions is not None:
        write_predictions(predictions, items, hypotheses, scored_words(decoding, log_probs))
    rates: dict[str, float] = {}
    table: Table = {}
    for name, hyps in hypotheses.items():
        prefix = "" if name == "greedy" else f"{name}_"
        rows = [(item.id, item.text, hyp) for item, hyp in zip(items, hyps, strict=True)]
        found = error_rates(rows)
        rates |= {f"{prefix}wer": found["wer"], f"{prefix}cer": found["cer"]}
        for group, part in rates_by_group(rows, groups or {}).items():
            table.setdefault(group, {}).update({f"{prefix}wer": part["wer"], f"{prefix}cer": part["cer"]})
    for item in items:
        if groups and item.id in groups:
            row = table[groups[item.id]]
            row["n_utterances"] = row.get("n_utterances", 0) + 1
            row["hours"] = row.get("hours", 0.0) + item.duration / 3600
    audio = sum(item.duration for item in items)
    timing = {"audio_seconds": audio, "wall_seconds": seconds, "real_time_factor": seconds / max(audio, 1e-9)}
    return rates | timing | ({"test_sets": table} if groups else {})


def table_lines(table: Mapping[str, Mapping[str, float]]) -> list[str]:
    """A results table per test set as printed: one row per set, WER and CER greedy and (when scored) with the LM."""
    columns = [("wer", "WER"), ("cer", "CER"), ("lm_wer", "LM WER"), ("lm_cer", "LM CER")]
    columns = [(key, title) for key, title in columns if any(key in row for row in table.values())]
    width = max([8, *(len(name) for name in table)])
    lines = [f"{'test set':<{width}} {'utts':>6} {'hours':>7} " + " ".join(f"{t:>8}" for _, t in columns)]
    for name, row in table.items():
        figures = " ".join(f"{row[key]:>8.2%}" if key in row else f"{'':>8}" for key, _ in columns)
        lines.append(f"{name:<{width}} {row.get('n_utterances', 0):>6} {row.get('hours', 0.0):>7.3f} {figures}")
    return lines


def write_predictions(
    path: Path,
    items: Sequence[Item],
    hypotheses: dict[str, Sequence[str]],
    words: Sequence[list[tuple[str, float, int]]] | None = None,
) -> None:
    """The one per-utterance results file: a JSON line per utterance with each decoder's hypothesis and WER
    (keys ``hypothesis``/``wer`` for greedy, ``lm_hypothesis``/``lm_wer`` with the n-gram) and, given ``words``
    (:func:`scored_words`), the best transcript's confidence and words with theirs: ``lm_confidence``/``lm_words``
    beside the n-gram's hypothesis, else ``confidence``/``words`` beside the greedy one."""
    with path.open("w", encoding="utf-8") as handle:
        for index, item in enumerate(items):
            row = {"id": item.id, "reference": item.text}
            for name, hyps in hypotheses.items():
                prefix = "" if name == "greedy" else f"{name}_"
                row |= {f"{prefix}hypothesis": hyps[index], f"{prefix}wer": jiwer.wer(item.text, hyps[index])}
            if words is not None:
                overall = overall_confidence([(c, n) for _, c, n in words[index]])
                prefix = "lm_" if "lm" in hypotheses else ""
                row[f"{prefix}confidence"] = None if overall is None else round(overall, 4)
                row[f"{prefix}words"] = [{"word": w, "confidence": round(c, 4)} for w, c, _ in words[index]]
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def choose_export(
    candidates: dict[str, PreTrainedModel],
    decoding: CTCDecoding,
    val: list[Item],
    batch_size: int,
    device: str = "auto",
    features: AudioFeatures | None = None,
) -> tuple[str, dict[str, float]]:
    """The candidate (e.g. the best checkpoint, the average of the best few) with the lowest greedy val WER,
    all scored by the same pass; ties go to the first. Returns its name and every candidate's val WER."""
    scores: dict[str, float] = {}
    for name, model in candidates.items():
        scores[name] = score(
            model.eval(), CTCDecoding(decoding.tokenizer), val, batch_size, device=device, features=features
        )["wer"]
        log.info("export candidate %s: val WER %.4f", name, scores[name])
    chosen = min(scores, key=lambda name: scores[name])
    return chosen, {f"export/val_wer_{name.replace(' ', '_')}": wer for name, wer in scores.items()}


def score_test(
    model: PreTrainedModel,
    decoding: CTCDecoding,
    items: list[Item],
    predictions: Path,
    batch_size: int,
    device: str,
    features: AudioFeatures | None = None,
    groups: Mapping[str, str] | None = None,
) -> dict[str, float]:
    """The test step: the exported model and its tuned decoding score the test split once, both ways
    (``predictions.jsonl``); with ``groups`` (several corpora) the same pass makes the ``test_sets`` table."""
    rates = score(model, decoding, items, batch_size, predictions, device, features, groups)
    results = {"test/wer": rates["wer"], "test/cer": rates["cer"]}
    if "lm_wer" in rates:
        results |= {"test/lm_wer": rates["lm_wer"], "test/lm_cer": rates["lm_cer"]}
    return results | ({"test_sets": rates["test_sets"]} if groups else {})


def evaluate(cfg: DictConfig) -> dict[str, float]:
    """Score ``cfg.model_path`` on ``cfg.split`` of ``cfg.data`` on ``cfg.device``, greedy and (where
    ``cfg.decode`` gives one) with the n-gram LM; writes predictions.jsonl and metrics.json into the
    evaluation's folder."""
    run = RunFolder(Path(cfg.paths.output_dir))
    run.root.mkdir(parents=True, exist_ok=True)
    splits, _ = load_corpus(cfg.data, cfg.seed)
    test_sets = load_test_sets(cfg.data)
    if test_sets:
        items, scored = UtteranceIndex.concat(list(test_sets.values())), f"test sets {', '.join(test_sets)}"
    else:
        chosen = ("train", "val", "test") if cfg.split == "all" else (cfg.split,)
        items, scored = UtteranceIndex.concat([splits[name] for name in chosen]), cfg.split
    several = bool(test_sets or cfg.data.get("corpora"))  # ids carry their test set: one row each
    groups = groups_of(items.column("id")) if several else None
    folder_of_model = model_folder(cfg.model_path)
    model, tokenizer = load_for_inference(folder_of_model or cfg.model_path)
    features = load_features(folder_of_model or cfg.model_path, model.config)  # the input training made
    decode = DecodeConfig.from_yaml(cfg.decode)
    train_texts = [i.text for i in splits["train"]]
    lm_dir = folder_of_model or RunFolder.of_checkpoint(Path(cfg.model_path)).export  # a run's .ckpt: its export's
    decoding = CTCDecoding.from_config(decode, tokenizer, train_texts, model_dir=lm_dir)
    if decoding.beam is None and decode.lm == "auto":
        log.info("%s has no language_model/: greedy decoding only", lm_dir)
    elif decoding.beam is not None:
        log.info("decoding with %s", decoding.description)
    decoding, tuned = tune_lm(model, decoding, decode, splits["val"], cfg.batch_size, run, cfg.device, features)
    rates = score(model, decoding, items, cfg.batch_size, run.predictions, cfg.device, features, groups) | tuned
    line = f"WER {rates['wer']:.4f} CER {rates['cer']:.4f}"
    if decoding.beam is not None:
        rates |= {"alpha": decoding.beam.settings.alpha, "beta": decoding.beam.settings.beta}
        line += f" greedy; with the n-gram LM WER {rates['lm_wer']:.4f} CER {rates['lm_cer']:.4f}"
    understood = understand_items(cfg, items, run) if cfg.get("nlu_path") else {}
    rates |= slu_results(understood)
    run.write_json("metrics.json", rates)
    print(
        f"\n{cfg.model_path} on {len(items)} utterances ({scored}): {line} "
        f"RTF {rates['real_time_factor']:.4f}\npredictions: {run.predictions}"
    )
    if groups:
        print("\n".join(table_lines(rates["test_sets"])))
    for reading, scores in understood.items():
        print(
            f"SLU from {READING_NAMES[reading]}: intent accuracy {scores['intent_accuracy']:.1%}, "
            f"entity F1 {scores['entity']['f1']:.1%}, SLU-F1 {scores['slu_f1']:.1%}"
        )
    return rates


def understand_items(cfg: DictConfig, items: list[Item], run: RunFolder) -> dict[str, dict]:
    """SLU scores of ``items`` with the NLU model ``cfg.nlu_path``, from gold text and the ASR's transcripts."""
    found = corpus_examples(cfg.data, {"items": [item.id for item in items]})
    chosen = found["items"] if found else []
    if not chosen:
        log.warning("%s has no intents and entities for these utterances: no SLU scores", cfg.data.manifest)
        return {}
    scores = score_readings(NluModel.load(cfg.nlu_path), chosen, run.predictions)
    run.write_json("slu_scores.json", scores)
    return scores
