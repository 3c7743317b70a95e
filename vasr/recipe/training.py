"""The training run behind ``train.py``, as named steps: each step lives in the module that owns its concern,
and the files of the run are written here, into its :class:`RunFolder`."""

from __future__ import annotations

import logging
import shlex
import time
from dataclasses import dataclass

import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from transformers import PreTrainedModel, Wav2Vec2CTCTokenizer

from vasr.data.corpus import Splits, corpus_weights, finalize_corpus, forget_shared, load_corpus, load_test_sets
from vasr.data.datamodule import SplitFingerprint
from vasr.data.features import AudioFeatures
from vasr.data.index import UtteranceIndex
from vasr.data.manifest import ManifestError
from vasr.data.mix import CorpusMix, groups_of
from vasr.data.splits import write_splits
from vasr.decoding.config import DecodeConfig
from vasr.decoding.ctc import CTCDecoding
from vasr.model.averaging import average_checkpoints
from vasr.model.build import pretrained_vocab
from vasr.model.export import export_folder, load_checkpoint
from vasr.model.module import CTCModule
from vasr.recipe.evaluation import choose_export, score, score_test, table_lines, tune_lm, write_reliability
from vasr.recipe.memory import peaks, release_freed_heap, reset_peaks
from vasr.recipe.nlu import READING_NAMES, READINGS, corpus_examples, score_readings, slu_results, train_nlu
from vasr.recipe.plots import plot_curves
from vasr.recipe.run_folder import RunFolder, in_sweep, record_failure, unpin_run
from vasr.recipe.sweep import PRUNED_AT, OptunaPruning
from vasr.recipe.trainer import build_trainer, one_line_per_message, process_count
from vasr.text.vocab import run_vocab, save_vocab

log = logging.getLogger("vasr")


def train(cfg: DictConfig) -> dict[str, float]:
    """Prepare corpus -> vocabulary -> model -> score before -> fit -> export -> test -> understand; each step
    hands its result to the next, and the run's files are written here."""
    one_line_per_message()
    run = RunFolder.open(cfg)
    reset_peaks()
    ckpt_path = run.resume_point(cfg.ckpt_path)
    L.seed_everything(cfg.seed, workers=True)
    several = process_count(OmegaConf.to_container(cfg.trainer, resolve=True)) > 1
    splits, reports = load_corpus(cfg.data, cfg.seed, run.is_writer, share=run.root if several else None)
    test_sets = load_test_sets(cfg.data) if run.is_writer and cfg.test_after_fit else {}
    decode = DecodeConfig.from_yaml(cfg.decode)
    check_optimized_metric(cfg.optimized_metric, reported_metrics(cfg, decode, splits))
    old_vocab = pretrained_vocab(cfg.model.pretrained) if cfg.model.pretrained else None
    # Only characters count: each split's transcripts joined into one string, not a million strings.
    texts = {name: [items.column("text").joined()] for name, items in splits.items()}
    vocab, coverage = run_vocab(cfg.vocab.strategy, texts, old_vocab)
    del texts
    if ckpt_path:
        vocab = resumed_vocab(ckpt_path, splits, cfg.resume_changed_split)
    module = instantiate(cfg.model, _convert_="all")(vocab=vocab, old_vocab=old_vocab, seed=cfg.seed)
    splits = finalize_corpus(splits, reports, module.tokenizer, module.family.frames, cfg.data.skip_bad)
    if run.is_writer:
        save_vocab(vocab, run.root)
        run.write_json("vocab_coverage.json", coverage)
        write_splits(splits, run.split)
        run.write_json("validation.json", [r.to_dict() for r in reports])
    module.change_decoding(CTCDecoding.from_config(decode, module.tokenizer, splits["train"].column("text")))
    weights = corpus_weights(cfg.data)
    if weights:  # several corpora: a weighted draw per epoch, validation scored per corpus too
        module.score_groups(groups_of(splits["val"].column("id")))
    # Only the loader's settings go through instantiate: the corpus (arrays) and the features (a dataclass) would
    # be turned into config nodes, one per utterance.
    datamodule = instantiate(cfg.data.loader, _partial_=True)(
        splits=splits,
        tokenizer=module.tokenizer,
        seed=cfg.seed,
        augmentation=instantiate(cfg.augment) if cfg.get("augment") else None,
        resume_changed_split=cfg.resume_changed_split,
        features=module.features,
        mix=CorpusMix.of(splits["train"], weights) if weights else None,
    )
    release_freed_heap()  # the corpus's transients (reading, CTC-fit check, fingerprint) gone before training
    trainer = build_trainer(cfg)
    batch = cfg.data.loader.eval_batch_size or 1
    results = score_before(cfg, module, splits, run, batch) if run.is_writer else {}
    results |= fit(trainer, module, datamodule, ckpt_path)
    if run.is_writer:
        forget_shared(run.root)  # every rank has loaded it
    if PRUNED_AT in results:  # an Optuna trial judged hopeless: no export, test or NLU to spend time on
        if run.is_writer:
            run.write_json("results.json", results)
        return results
    if run.is_writer:
        exported = export(trainer, module, decode, splits["val"], run, batch, cfg.device)
        results |= exported.results
        if cfg.test_after_fit and splits["test"]:
            groups = table_groups(cfg.data.name, splits["test"], bool(weights), bool(test_sets))
            results |= score_test(
                exported.model,
                exported.decoding,
                splits["test"],
                run.predictions,
                batch,
                cfg.device,
                module.features,
                groups,
            )
        if test_sets:
            extra = score_test_sets(exported, test_sets, batch, cfg.device, module.features)
            results["test_sets"] = results.get("test_sets", {}) | extra
        if cfg.get("nlu"):
            results |= understand(cfg, splits, run)
        report(results, module, trainer, run, cfg)
    return results


@dataclass(frozen=True)
class Exported:
    """What the export step hands to the test step: the exported model, its tuned decoding, and what it found."""

    model: PreTrainedModel
    decoding: CTCDecoding
    results: dict[str, float | str]


def export(
    trainer: L.Trainer,
    module: CTCModule,
    decode: DecodeConfig,
    val: list,
    run: RunFolder,
    batch_size: int,
    device: str,
) -> Exported:
    """The export step: the model to ship (best checkpoint, or the average of the kept ones when it scores
    better), the n-gram's weights tuned on validation, and ``export/`` holding processor, model and (when the
    decoding has one) the LM, whether or not a test split follows."""
    decoding = module.decoding
    best, validated = best_checkpoint(trainer, run)
    if validated:
        model, tokenizer, found = pick_export(trainer, best, decoding, val, batch_size, device, module.features)
    else:
        model, tokenizer = load_checkpoint(best)
        found = {"exported": "last checkpoint"}
    model.eval()
    decoding, tuned = tune_lm(model, decoding, decode, val, batch_size, run, device, module.features)
    tuned |= write_reliability(model, decoding, val, batch_size, run, device, module.features)
    export_folder(model, tokenizer, run.export, module.extractor)
    if decoding.beam is not None and decoding.beam.lm is not None:
        decoding.beam.save(run.export, lm=str(decode.lm), val_wer=tuned.get("lm/val_wer", float("nan")))
        log.info("exported %s with %s", run.export, decoding.description)
    return Exported(model, decoding, found | tuned | {"best_checkpoint": best})


def best_checkpoint(trainer: L.Trainer, run: RunFolder) -> tuple[str, bool]:
    """The checkpoint with the best val WER; the last one, said so, in a run that never validated (False)."""
    if trainer.checkpoint_callback.best_model_path:
        return trainer.checkpoint_callback.best_model_path, True
    log.warning(
        "no validation ran (the run is shorter than one validation interval, trainer.val_check_interval): "
        "the export is the last checkpoint and val/wer is nan"
    )
    return str(run.last_checkpoint), False


def resumed_vocab(ckpt_path: str, splits: Splits, force: bool) -> dict[str, int]:
    """The vocabulary the checkpoint's head was trained with, once its training split is checked to be this run's
    (read before anything is built; the tensors stay on disk)."""
    state = torch.load(ckpt_path, map_location="cpu", weights_only=False, mmap=True)
    SplitFingerprint.of(splits["train"]).check_resume(ckpt_path, state, force)
    return state["vasr"]["vocab"]


def table_groups(name: str, test: UtteranceIndex, several: bool, more_sets: bool) -> dict[str, str] | None:
    """The row of the table per test set each test utterance counts in: its corpus's (several corpora), the one
    corpus's ``name`` beside ``data.test_sets``; no table for one corpus alone."""
    if several:
        return groups_of(test.column("id"))
    return dict.fromkeys(test.column("id"), name) if more_sets else None


def score_test_sets(
    exported: Exported, sets: dict[str, UtteranceIndex], batch_size: int, device: str, features: AudioFeatures
) -> dict[str, dict[str, float]]:
    """The rows of ``data.test_sets`` (test sets beside the corpora's own test splits), from one pass."""
    items = UtteranceIndex.concat(list(sets.values()))
    groups = groups_of(items.column("id"))
    return score(exported.model, exported.decoding, items, batch_size, None, device, features, groups)["test_sets"]


def understand(cfg: DictConfig, splits: Splits, run: RunFolder) -> dict[str, float]:
    """The NLU step: train the joint model on the corpus's annotations, score the test split's frames from gold
    text and from the ASR's transcripts (``slu_scores.json``); nothing when the corpus has no SLU fields."""
    if cfg.data.get("corpora"):
        log.info("several corpora (data.corpora): no NLU model trained; it trains on one SoICT-format corpus")
        return {}
    examples = corpus_examples(cfg.data, {name: list(items.column("id")) for name, items in splits.items()})
    if examples is None or not examples["train"]:
        log.info("the corpus has no intents and entities: no NLU model trained")
        return {}
    nlu = train_nlu(cfg.nlu, examples, run, cfg.seed)
    scores = score_readings(nlu, examples["test"], run.predictions)
    run.write_json("slu_scores.json", scores)
    return slu_results(scores)


def score_before(cfg: DictConfig, module, splits: Splits, run: RunFolder, batch_size: int) -> dict[str, float]:
    """The starting model's greedy test WER/CER (when it is pretrained), by the same path as the scores after."""
    if not (tests_before(cfg) and splits["test"]):
        return {}
    greedy = CTCDecoding(module.tokenizer)
    rates = score(module.model.eval(), greedy, splits["test"], batch_size, device=cfg.device, features=module.features)
    module.model.train()
    return {"before/test/wer": rates["wer"], "before/test/cer": rates["cer"]}


def tests_before(cfg: DictConfig) -> bool:
    """Whether the starting model is scored before fitting: as asked, else when it is pretrained."""
    return cfg.test_before_fit if cfg.test_before_fit is not None else bool(cfg.model.pretrained)


def fit(trainer: L.Trainer, module, datamodule, ckpt_path: str | None) -> dict[str, float]:
    """``trainer.fit``, timed; ``val/wer`` the best validation's (the checkpoint kept), every other validation
    metric logged (``val/cer``, ``val/lm_wer``...) the last validation's."""
    started = time.perf_counter()
    trainer.fit(module, datamodule, ckpt_path=ckpt_path)
    results = {"fit_seconds": time.perf_counter() - started, "steps": float(trainer.global_step)}
    results |= {name: float(value) for name, value in trainer.callback_metrics.items() if name.startswith("val/")}
    best = trainer.checkpoint_callback
    results["val/wer"] = float(best.best_model_score) if best.best_model_score is not None else float("nan")
    pruned = [c.pruned_at for c in trainer.callbacks if isinstance(c, OptunaPruning) and c.pruned_at is not None]
    if pruned:
        results[PRUNED_AT] = float(pruned[0])
    return results


def pick_export(
    trainer: L.Trainer,
    best: str,
    decoding: CTCDecoding,
    val: list,
    batch_size: int,
    device: str,
    features: AudioFeatures | None = None,
) -> tuple[PreTrainedModel, Wav2Vec2CTCTokenizer, dict]:
    """The best checkpoint, or the average of the ones the checkpoint callback kept (``callbacks.best_checkpoint
    .save_top_k``) when that scores better on validation; the run says which it exported."""
    model, tokenizer = load_checkpoint(best)
    kept = sorted(trainer.checkpoint_callback.best_k_models.items(), key=lambda kv: float(kv[1]))
    if len(kept) < 2 or not val:
        return model, tokenizer, {"exported": "best checkpoint"}
    averaged, _ = average_checkpoints([path for path, _ in kept])
    name = f"average of {len(kept)} best"
    chosen, scores = choose_export(
        {"best checkpoint": model, name: averaged}, decoding, val, batch_size, device, features
    )
    return (averaged if chosen == name else model), tokenizer, scores | {"exported": chosen}


def report(results: dict[str, float], module, trainer: L.Trainer, run: RunFolder, cfg: DictConfig) -> None:
    """results.json, curves.png, sample predictions, W&B summary, and the summary printed."""
    if run.metrics_csv.exists():
        plot_curves(run.metrics_csv, run.root / "curves.png")
    results["skipped_batches"] = module.skipped_batches
    results |= model_facts(module) | peaks()
    run.write_json("results.json", results)
    run.write_json("predictions_sample.json", module.last_predictions)
    for logger in trainer.loggers:
        if hasattr(logger, "log_table"):  # W&B: close the run so its files (config, summary) are complete
            logger.experiment.summary.update({k: v for k, v in results.items() if isinstance(v, float)})
            logger.experiment.finish()
    print(summary(results, run, data_overrides(cfg)))


def model_facts(module: CTCModule) -> dict[str, str | int]:
    """What vasr-compare sets side by side across encoders: the family, its parameters and those trained."""
    parameters = list(module.model.parameters())
    return {
        "family": module.family.model_type,
        "parameters": sum(p.numel() for p in parameters),
        "trained_parameters": sum(p.numel() for p in parameters if p.requires_grad),
    }


def data_overrides(cfg: DictConfig) -> list[str]:
    """The command line's overrides that chose this run's corpus and split (``data...``, ``seed``), so the printed
    follow-up commands read the same corpus; without a Hydra command line, the resolved ``data`` settings."""
    if HydraConfig.initialized():
        given = HydraConfig.get().overrides.task
        return [o for o in given if o.lstrip("+~").split("=")[0].split(".")[0] in ("data", "seed")]
    return [f"data.{key}={value}" for key in ("manifest", "audio_dir") if (value := cfg.data.get(key))]


def summary(results: dict[str, float], run: RunFolder, overrides: list[str]) -> str:
    """What a person wants at the end of a run: before/after test scores, where everything went, and the
    commands that take it further (quoted to paste as they are)."""
    if results.get("exported") == "last checkpoint":
        lines = [f"\nrun folder: {run.root}", f"exported model: {run.export} (the last checkpoint: no validation ran)"]
    else:
        lines = [
            f"\nrun folder: {run.root}",
            f"best checkpoint: {results.get('best_checkpoint')}",
            f"exported model: {run.export} ({results.get('exported')}, by val WER)",
        ]
    for name in ("wer", "cer"):
        before, after = results.get(f"before/test/{name}"), results.get(f"test/{name}")
        if after is not None:
            start = f"{before:.2%} before fine-tuning -> " if before is not None else ""
            lm = results.get(f"test/lm_{name}")
            with_lm = f" greedy, {lm:.2%} with the n-gram LM" if lm is not None else ""
            lines.append(f"test {name.upper()}: {start}{after:.2%}{with_lm}")
    if results.get("test_sets"):
        lines += ["results per test set:", *(f"  {line}" for line in table_lines(results["test_sets"]))]
    if any(results.get(f"test/{name}", 0) > 1 for name in ("wer", "cer", "lm_wer", "lm_cer")):
        lines.append("(rates above 100%: the hypotheses hold more words than the references, as untrained ones do)")
    lines.append(", ".join(f"{k} {v:.4f}" for k, v in results.items() if isinstance(v, float)))
    export = shlex.quote(str(run.export))
    lines += [
        f"score it:      {shlex.join(['vasr-evaluate', f'model_path={run.export}', *overrides])}",
        f"transcribe:    vasr-transcribe {export} AUDIO...",
    ]
    readings = sorted({key.split("/")[1] for key in results if key.startswith("slu/")}, key=list(READINGS).index)
    if readings:
        lines.append(f"understand:    vasr-slu {export} {shlex.quote(str(run.nlu))} AUDIO...")
        lines.append("test SLU (intent accuracy / entity F1 / SLU-F1):")
    for reading in readings:
        figures = " / ".join(
            f"{results[f'slu/{reading}/{name}']:.1%}" for name in ("intent_accuracy", "entity_f1", "slu_f1")
        )
        lines.append(f"  {READING_NAMES[reading]}: {figures}")
    return "\n".join(lines)


# What the LightningModule logs at each validation, with and without an n-gram (``CTCModule._epoch_end``).
VALIDATION_METRICS = ("loss", "wer", "cer", "utterances", "blank_frames", "empty_hypotheses")
LM_VALIDATION_METRICS = ("lm_wer", "lm_cer")
SLU_METRICS = ("intent_accuracy", "entity_f1", "slu_f1")


def reported_metrics(cfg: DictConfig, decode: DecodeConfig, splits: Splits) -> list[str]:
    """The metrics this run will report (``results.json``), by name: what ``optimized_metric`` may be."""
    names = ["fit_seconds", "steps", *(f"val/{name}" for name in VALIDATION_METRICS)]
    if decode.lm is not None:
        names += [f"val/{name}" for name in LM_VALIDATION_METRICS]
    if decode.weight_grid is not None and splits["val"]:
        names += ["lm/alpha", "lm/beta", "lm/val_wer"]
    for corpus in corpus_weights(cfg.data):
        names += [f"val/{corpus}/{name}" for name in ("wer", "cer")]
        names += [f"val/{corpus}/{name}" for name in LM_VALIDATION_METRICS] if decode.lm is not None else []
    if tests_before(cfg) and splits["test"]:
        names += ["before/test/wer", "before/test/cer"]
    if cfg.test_after_fit and splits["test"]:
        names += ["test/wer", "test/cer"] + (["test/lm_wer", "test/lm_cer"] if decode.lm is not None else [])
        if cfg.get("nlu") and not cfg.data.get("corpora"):  # when the corpus has intents and entities
            names += [f"slu/{reading}/{name}" for reading in READINGS for name in SLU_METRICS]
    return names


class UnknownMetric(ValueError):
    """An ``optimized_metric`` the run does not report: a configuration error, the same for every trial."""


def check_optimized_metric(name: str, reported: list[str]) -> None:
    """Refuses, before any training, an ``optimized_metric`` the run will not report."""
    if name not in reported:
        raise UnknownMetric(f"optimized_metric={name}: this run does not report it; it reports {', '.join(reported)}")


def objective(results: dict[str, float], name: str) -> float:
    """The value of ``name`` in the run's results; a pruned trial's is NaN when the run stopped before it (the
    sweeper records that trial as pruned, not by its value)."""
    if name in results:
        return float(results[name])
    if PRUNED_AT in results:
        return float("nan")
    reported = ", ".join(k for k, v in results.items() if isinstance(v, float))
    raise KeyError(f"optimized_metric={name} is not among this run's results ({reported})")


def run_job(cfg: DictConfig) -> float:
    """``train.py``'s job: the metric the sweeper minimises; in a sweep a failing job scores +inf. An
    ``optimized_metric`` the run will not report ends the job (the sweep with it) before any training."""
    try:
        return objective(train(cfg), cfg.optimized_metric)
    except Exception as error:
        # the data's or the config's fault: its message, not a traceback (a wrong metric name ends a sweep too)
        if isinstance(error, UnknownMetric) or (isinstance(error, ManifestError) and not in_sweep()):
            log.error("%s", error)
            raise SystemExit(1) from None
        return record_failure(cfg)
    finally:
        unpin_run()
