"""The training run behind ``train.py``, as named steps: each step lives in the module that owns its concern."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import lightning as L
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from transformers import Wav2Vec2CTCTokenizer, Wav2Vec2ForCTC

from vasr.data.corpus import finalize_corpus, load_corpus
from vasr.decoding.ctc import CTCDecoding, DecodeConfig, uses_attention_mask
from vasr.model.averaging import average_checkpoints
from vasr.model.build import build_module, pretrained_vocab
from vasr.model.export import export_folder, load_checkpoint
from vasr.recipe.evaluation import choose_export, test_best
from vasr.recipe.plots import plot_curves
from vasr.recipe.run_folder import open_run, record_failure, resume_point, unpin_run
from vasr.recipe.trainer import build_trainer
from vasr.text.vocab import run_vocab

log = logging.getLogger("vasr")


def train(cfg: DictConfig) -> dict[str, float]:
    """Prepare corpus -> vocabulary -> model -> fit -> export -> test -> decode with the LM."""
    folder, writer = open_run(cfg)
    ckpt_path = resume_point(cfg, folder)
    L.seed_everything(cfg.seed, workers=True)
    splits, reports = load_corpus(cfg.data, cfg.seed)
    old_vocab = pretrained_vocab(cfg.model.pretrained) if cfg.model.pretrained else None
    vocab = run_vocab(cfg.vocab.strategy, splits, old_vocab, folder if writer else None)
    module = build_module(cfg.model, vocab, old_vocab, cfg.seed)
    splits = finalize_corpus(splits, reports, module.tokenizer, module.model.config, cfg.data.skip_bad, folder)
    decode = DecodeConfig(**OmegaConf.to_container(cfg.decode, resolve=True))
    module.change_decoding(CTCDecoding.from_config(decode, module.tokenizer, [i.text for i in splits["train"]]))
    datamodule = instantiate(
        cfg.data.loader,
        splits=splits,
        tokenizer=module.tokenizer,
        seed=cfg.seed,
        return_attention_mask=uses_attention_mask(module.model.config),
        augmentation=instantiate(cfg.augment) if cfg.get("augment") else None,
    )
    trainer = build_trainer(cfg)
    results = fit(cfg, trainer, module, datamodule, ckpt_path)
    if trainer.is_global_zero:
        batch = cfg.data.loader.eval_batch_size or 1
        best = trainer.checkpoint_callback.best_model_path or str(folder / "checkpoints" / "last.ckpt")
        model, tokenizer, found = pick_export(trainer, best, module.decoding, splits["val"], batch)
        results |= found | {"best_checkpoint": best}
        export_folder(model, tokenizer, folder / "export")
        if cfg.test_after_fit and splits["test"]:
            results |= test_best(model.eval(), module.decoding, decode, splits, folder, batch)
        report(results, module, trainer, folder, best)
    return results


def fit(cfg: DictConfig, trainer: L.Trainer, module, datamodule, ckpt_path: str | None) -> dict[str, float]:
    """Test the starting model (when it is pretrained), then fit."""
    results: dict[str, float] = {}
    test_before = cfg.test_before_fit if cfg.test_before_fit is not None else bool(cfg.model.pretrained)
    has_test = bool(datamodule.datasets["test"])
    if test_before and has_test:
        results |= {f"before/{k}": v for k, v in trainer.test(module, datamodule, verbose=False)[0].items()}
    started = time.perf_counter()
    trainer.fit(module, datamodule, ckpt_path=ckpt_path)
    results["fit_seconds"] = time.perf_counter() - started
    results["steps"] = float(trainer.global_step)
    best = trainer.checkpoint_callback
    results["val/wer"] = float(best.best_model_score) if best.best_model_score is not None else float("nan")
    return results


def pick_export(
    trainer: L.Trainer, best: str, decoding: CTCDecoding, val: list, batch_size: int
) -> tuple[Wav2Vec2ForCTC, Wav2Vec2CTCTokenizer, dict]:
    """The best checkpoint, or the average of the ones the checkpoint callback kept (``callbacks.best_checkpoint
    .save_top_k``) when that scores better on validation; the run says which it exported."""
    model, tokenizer = load_checkpoint(best)
    kept = sorted(trainer.checkpoint_callback.best_k_models.items(), key=lambda kv: float(kv[1]))
    if len(kept) < 2 or not val:
        return model, tokenizer, {"exported": "best checkpoint"}
    averaged, _ = average_checkpoints([path for path, _ in kept])
    name = f"average of {len(kept)} best"
    chosen, scores = choose_export({"best checkpoint": model, name: averaged}, decoding, val, batch_size)
    return (averaged if chosen == name else model), tokenizer, scores | {"exported": chosen}


def report(results: dict[str, float], module, trainer: L.Trainer, folder: Path, best: str) -> None:
    """results.json, curves.png, sample predictions, W&B summary, and the summary printed."""
    metrics_csv = folder / "metrics.csv"
    if metrics_csv.exists():
        plot_curves(metrics_csv, folder / "curves.png")
    results["skipped_batches"] = module.skipped_batches
    (folder / "results.json").write_text(json.dumps(results, indent=1))
    (folder / "predictions_sample.json").write_text(json.dumps(module.last_predictions, ensure_ascii=False, indent=1))
    for logger in trainer.loggers:
        if hasattr(logger, "log_table"):  # W&B: close the run so its files (config, summary) are complete
            logger.experiment.summary.update({k: v for k, v in results.items() if isinstance(v, float)})
            logger.experiment.finish()
    print(summary(results, folder, best))


def summary(results: dict[str, float], folder: Path, best_path: str) -> str:
    """What a person wants at the end of a run: before/after test scores and where everything went."""
    exported = f" ({results['exported']}, by val WER)" if "exported" in results else ""
    lines = [
        f"\nrun folder: {folder}",
        f"best checkpoint: {best_path}",
        f"exported model: {folder / 'export'}{exported}",
    ]
    for name in ("wer", "cer"):
        before, after = results.get(f"before/test/{name}"), results.get(f"test/{name}")
        if after is not None:
            start = f"{before:.2%} before fine-tuning -> " if before is not None else ""
            lm = results.get(f"test/lm_{name}")
            with_lm = f" greedy, {lm:.2%} with the n-gram LM" if lm is not None else ""
            lines.append(f"test {name.upper()}: {start}{after:.2%}{with_lm}")
    lines.append(", ".join(f"{k} {v:.4f}" for k, v in results.items() if isinstance(v, float)))
    return "\n".join(lines)


def run_job(cfg: DictConfig) -> float:
    """``train.py``'s job: the metric the sweeper minimises; in a sweep a failing job scores +inf."""
    try:
        return float(train(cfg).get(cfg.optimized_metric, float("nan")))
    except Exception:
        return record_failure(cfg)
    finally:
        unpin_run()
