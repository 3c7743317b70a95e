"""The training run behind ``train.py``: corpus -> vocabulary -> model -> fit -> export -> test."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from pathlib import Path

import lightning as L
from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.callbacks import ModelCheckpoint, RichProgressBar
from lightning.pytorch.loggers import Logger
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from vasr.callbacks import RunEta, StepCheckpoint, Throughput
from vasr.csvlog import ResumableCSVLogger
from vasr.data.ctc_fit import check_ctc_fit, output_frames
from vasr.data.datamodule import SpeechDataModule
from vasr.data.manifest import Item, ValidationReport
from vasr.data.splits import load_splits, write_splits
from vasr.data.synth import write_corpus
from vasr.lm.beam import BeamDecoder, BeamSettings, tune
from vasr.lm.ngram import NgramLM
from vasr.model.build import build_from_config, load_pretrained, pretrained_vocab
from vasr.model.decode import posteriors
from vasr.model.export import export_folder, load_checkpoint
from vasr.model.metrics import error_rates
from vasr.model.module import CTCModule
from vasr.plots import plot_curves
from vasr.run import git_commit, pin_run
from vasr.text.normalize import DEFAULT_DROP
from vasr.text.vocab import PAD, build_vocab, make_tokenizer, save_vocab, uncovered

log = logging.getLogger("vasr")


def run_dir(cfg: DictConfig) -> Path:
    """The one folder of this run (DDP children get the parent's through ``VASR_RUN_DIR``)."""
    folder = os.environ.get("VASR_RUN_DIR") or (
        HydraConfig.get().runtime.output_dir if HydraConfig.initialized() else cfg.paths.output_dir
    )
    pin_run(Path(folder), str(cfg.run_name))
    return Path(folder)


def ensure_corpus(data: DictConfig, wait_seconds: float = 3600) -> None:
    """Synthesise the demo corpus on first use: rank 0 writes it, ranks started beside it wait for it."""
    manifest = Path(data.manifest)
    if not data.get("synthesize") or manifest.exists():
        return
    if rank_zero_only.rank == 0:
        log.info("corpus not found: synthesising %d utterances into %s", data.synthesize.num, data.audio_dir)
        write_corpus(manifest.parent, data.synthesize.num, data.synthesize.seed, text=data.synthesize.get("text"))
        return
    deadline = time.monotonic() + wait_seconds
    while not manifest.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"rank {rank_zero_only.rank}: rank 0 did not write {manifest} in {wait_seconds:.0f} s")
        time.sleep(1)


def read_options(data: DictConfig) -> dict:
    """Keyword arguments of ``read_manifest`` from the data config."""
    return {
        "numbers": data.numbers,
        "drop": DEFAULT_DROP if data.drop is None else data.drop,
        "skip_bad": data.skip_bad,
        "min_duration": data.min_duration,
        "max_duration": data.max_duration,
    }


def load_corpus(cfg: DictConfig) -> tuple[dict[str, list[Item]], list[ValidationReport]]:
    """The corpus of ``cfg.data`` validated and split (the demo corpus synthesised first if missing)."""
    data = cfg.data
    ensure_corpus(data)
    splits, reports = load_splits(
        data.manifest,
        data.audio_dir,
        val_manifest=data.val_manifest,
        test_manifest=data.test_manifest,
        val_ratio=data.val_ratio,
        test_ratio=data.test_ratio,
        seed=cfg.seed,
        **read_options(data),
    )
    return splits, reports


def prepare_data(cfg: DictConfig, module: CTCModule, splits: dict[str, list[Item]], reports, folder: Path):
    """Drop (or reject, naming file:line) transcripts the model cannot emit in their audio's frames;
    write the validation report and the split (rank 0). All before any training step."""
    config = module.model.config
    splits = check_ctc_fit(
        splits,
        lambda text: module.tokenizer(text).input_ids,
        lambda samples: output_frames(samples, config.conv_kernel, config.conv_stride),
        reports,
        cfg.data.skip_bad,
    )
    if rank_zero_only.rank == 0:
        write_splits(splits, folder / "split")
        (folder / "validation.json").write_text(
            json.dumps([r.to_dict() for r in reports], ensure_ascii=False, indent=1)
        )
    for report in reports:
        log.info("validation: %s", report.summary())
    log.info("split: %s", ", ".join(f"{k} {len(v)}" for k, v in splits.items()))
    return splits


def prepare_vocab(cfg: DictConfig, splits: dict[str, list[Item]], folder: Path) -> tuple[dict[str, int], dict | None]:
    """Vocabulary by strategy from the training split only; coverage of val/test written and logged."""
    strategy = cfg.vocab.strategy
    source = cfg.model.pretrained
    old_vocab = pretrained_vocab(source) if source else None
    if strategy == "union" and old_vocab is None:
        log.warning("vocab=union without a pretrained tokenizer: using the training split's characters only")
        strategy = "corpus"
    vocab = build_vocab(strategy, (item.text for item in splits["train"]), old_vocab)
    coverage = {name: dict(uncovered(vocab, (i.text for i in splits[name]))) for name in ("val", "test")}
    for name, missing in coverage.items():
        if missing:
            log.warning("%s text has characters the vocabulary lacks (decoded as [UNK]): %s", name, missing)
    if rank_zero_only.rank == 0:
        save_vocab(vocab, folder)
        (folder / "vocab_coverage.json").write_text(json.dumps(coverage, ensure_ascii=False, indent=1))
    return vocab, old_vocab


def build_module(cfg: DictConfig, vocab: dict[str, int], old_vocab: dict | None) -> CTCModule:
    """The LightningModule for ``cfg.model`` over ``vocab``."""
    model_cfg = cfg.model
    overrides = OmegaConf.to_container(model_cfg.overrides or {}, resolve=True)
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = make_tokenizer(save_vocab(vocab, tmp))
    if model_cfg.pretrained:
        model = load_pretrained(model_cfg.pretrained, vocab, PAD, old_vocab, **overrides)
    else:
        architecture = OmegaConf.to_container(model_cfg.architecture, resolve=True)
        model = build_from_config(architecture, vocab, PAD, **overrides)
    optimizer = model_cfg.optimizer
    return CTCModule(
        model,
        tokenizer,
        lr=optimizer.lr,
        weight_decay=optimizer.weight_decay,
        warmup_steps=optimizer.warmup_steps,
        schedule=optimizer.schedule,
        freeze_feature_encoder=model_cfg.freeze_feature_encoder,
        gradient_checkpointing=model_cfg.gradient_checkpointing,
        seed=cfg.seed,
    )


def build_loggers(cfg: DictConfig, folder: Path) -> list[Logger]:
    """metrics.csv always (kept across resumes); W&B (offline unless set online) when ``logger=wandb``."""
    loggers: list[Logger] = [ResumableCSVLogger(folder, name="", version="", flush_logs_every_n_steps=10)]
    wandb_cfg = cfg.logger.get("wandb")
    if wandb_cfg and wandb_cfg.mode != "disabled":
        from lightning.pytorch.loggers import WandbLogger

        group = wandb_cfg.group or (Path(folder).parent.name if "sweep" in str(folder) else None)
        resume_id = (folder / "wandb_id.txt").read_text().strip() if (folder / "wandb_id.txt").exists() else None
        logger = WandbLogger(
            project=wandb_cfg.project,
            name=cfg.run_name,
            group=group,
            tags=list(wandb_cfg.tags),
            mode=wandb_cfg.mode,
            save_dir=str(folder),
            id=resume_id,
            resume="allow" if resume_id else None,
            config=OmegaConf.to_container(cfg, resolve=True),
        )
        if rank_zero_only.rank == 0:
            (folder / "wandb_id.txt").write_text(logger.version or "")
        loggers.append(logger)
    return loggers


def resolve_ckpt(cfg: DictConfig, folder: Path) -> str | None:
    """``ckpt_path=last`` means this run folder's last checkpoint; a folder that has one is never overwritten."""
    path = folder / "checkpoints" / "last.ckpt"
    if cfg.ckpt_path == "last":
        if not path.exists():
            raise FileNotFoundError(f"ckpt_path=last but {path} does not exist; pass run_name of the run to resume")
        return str(path)
    if cfg.ckpt_path is None and path.exists():
        raise FileExistsError(f"{folder} holds a trained run: resume it (ckpt_path=last) or give a new run_name")
    return cfg.ckpt_path


def build_ngram(decode: DictConfig, splits: dict[str, list[Item]]) -> NgramLM | None:
    """The n-gram ``decode.lm`` names: estimated from the training transcripts, or an ARPA file."""
    spec = decode.get("lm")
    if not spec or spec == "auto":
        return None
    if spec != "train":
        return NgramLM.from_arpa(spec)
    if not splits["train"]:
        raise ValueError("decode.lm=train needs a training split to estimate the n-gram from")
    ngram = NgramLM.train([item.text.split() for item in splits["train"]], decode.order)
    log.info("n-gram LM: order %d from %d training transcripts", ngram.order, len(splits["train"]))
    return ngram


def beam_settings(decode: DictConfig) -> BeamSettings:
    """``decode``'s beam settings; weights left null take BeamSettings' defaults until tuned."""
    given = {"alpha": decode.alpha, "beta": decode.beta}
    return BeamSettings(
        **{k: v for k, v in given.items() if v is not None},
        unk_offset=decode.unk_offset,
        beam_width=decode.beam_width,
        token_min_logp=decode.token_min_logp,
        top_k=decode.top_k,
    )


def lm_decoder(
    decode: DictConfig,
    model,
    tokenizer,
    splits: dict[str, list[Item]],
    folder: Path,
    model_dir: str | Path | None = None,
    batch_size: int = 1,
    ngram: NgramLM | None = None,
) -> tuple[BeamDecoder | None, dict[str, float]]:
    """The n-gram beam decoder ``decode`` asks for (None: greedy only) and what tuning found.

    Weights left null are chosen by WER on the validation split (``lm_tuning.csv`` in ``folder``),
    the usual way of fitting shallow fusion; the test split never takes part.
    """
    if decode.get("lm") == "auto":
        decoder = BeamDecoder.load(model_dir, tokenizer) if model_dir else None
        if decoder is None:
            log.info("%s has no language_model/: greedy decoding only", model_dir)
        return decoder, {}
    ngram = ngram or build_ngram(decode, splits)
    if ngram is None:
        return None, {}
    base = beam_settings(decode)
    alphas = [base.alpha] if decode.alpha is not None else list(decode.grid.alpha)
    betas = [base.beta] if decode.beta is not None else list(decode.grid.beta)
    if (len(alphas) == 1 and len(betas) == 1) or not splits["val"]:
        return BeamDecoder(tokenizer, ngram, base), {}
    val_log_probs, _ = posteriors(model, tokenizer, splits["val"], batch_size)
    decoder, rows = tune(
        tokenizer, ngram, val_log_probs, [i.text for i in splits["val"]], alphas, betas, base, folder / "lm_tuning.csv"
    )
    best = min(row["wer"] for row in rows)
    return decoder, {"lm/alpha": decoder.settings.alpha, "lm/beta": decoder.settings.beta, "lm/val_wer": best}


def lm_test(
    cfg: DictConfig, model, tokenizer, splits: dict[str, list[Item]], folder: Path, ngram: NgramLM
) -> dict[str, float]:
    """Test the best model with the n-gram beam decoder and ship the decoder in ``export/``."""
    batch = cfg.data.eval_batch_size
    decoder, found = lm_decoder(cfg.decode, model, tokenizer, splits, folder, batch_size=batch, ngram=ngram)
    log_probs, _ = posteriors(model, tokenizer, splits["test"], batch)
    hyps = decoder.decode(log_probs)
    rates = error_rates((i.id, i.text, h) for i, h in zip(splits["test"], hyps, strict=True))
    with (folder / "predictions_lm.jsonl").open("w", encoding="utf-8") as handle:
        for item, hyp in zip(splits["test"], hyps, strict=True):
            row = {"id": item.id, "reference": item.text, "hypothesis": hyp}
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    decoder.save(folder / "export", lm=str(cfg.decode.lm), val_wer=found.get("lm/val_wer", float("nan")))
    return found | {"test/lm_wer": rates["wer"], "test/lm_cer": rates["cer"]}


def train(cfg: DictConfig) -> dict[str, float]:
    """Fit, export and test one run; returns its final metrics (the sweeper reads ``optimized_metric``)."""
    folder = run_dir(cfg)
    folder.mkdir(parents=True, exist_ok=True)
    L.seed_everything(cfg.seed, workers=True)
    if rank_zero_only.rank == 0:
        OmegaConf.save(cfg, folder / "config.yaml", resolve=True)
        (folder / "git_commit.txt").write_text(f"{git_commit()}\n")
    ckpt_path = resolve_ckpt(cfg, folder)
    splits, reports = load_corpus(cfg)
    vocab, old_vocab = prepare_vocab(cfg, splits, folder)
    module = build_module(cfg, vocab, old_vocab)
    splits = prepare_data(cfg, module, splits, reports, folder)
    ngram = build_ngram(cfg.decode, splits)
    if ngram is not None:  # validation also scores beam search with it (val/lm_wer), at untuned weights
        module.lm_decoder = BeamDecoder(module.tokenizer, ngram, beam_settings(cfg.decode))
    data = cfg.data
    datamodule = SpeechDataModule(
        splits,
        module.tokenizer,
        batch_size=cfg.model.get("batch_size") or data.batch_size,
        max_seconds=data.max_seconds,
        pad_to_seconds=data.pad_to_seconds,
        eval_batch_size=data.eval_batch_size,
        num_workers=data.num_workers,
        seed=cfg.seed,
        return_attention_mask=module.model.config.feat_extract_norm == "layer",
        sortagrad_epochs=data.sortagrad_epochs,
    )
    trainer_cfg = OmegaConf.to_container(cfg.trainer, resolve=True)
    every_n_steps = trainer_cfg.pop("checkpoint_every_n_steps")
    ckpt_dir = folder / "checkpoints"
    best = ModelCheckpoint(dirpath=ckpt_dir, filename="best-{step}", monitor="val/wer", mode="min", save_top_k=1)
    trainer = L.Trainer(
        **trainer_cfg,
        default_root_dir=str(folder),
        logger=build_loggers(cfg, folder),
        use_distributed_sampler=False,
        callbacks=[best, StepCheckpoint(ckpt_dir, every_n_steps), Throughput(), RunEta(), RichProgressBar()],
    )
    results: dict[str, float] = {}
    test_before = cfg.test_before_fit if cfg.test_before_fit is not None else bool(cfg.model.pretrained)
    if test_before and splits["test"]:
        results |= {f"before/{k}": v for k, v in trainer.test(module, datamodule, verbose=False)[0].items()}
    started = time.perf_counter()
    trainer.fit(module, datamodule, ckpt_path=ckpt_path)
    results["fit_seconds"] = time.perf_counter() - started
    results["steps"] = float(trainer.global_step)
    best_path = best.best_model_path or str(ckpt_dir / "last.ckpt")
    results["val/wer"] = float(best.best_model_score) if best.best_model_score is not None else float("nan")
    if cfg.test_after_fit and splits["test"]:
        results |= trainer.test(module, datamodule, ckpt_path=best_path, verbose=False)[0]
    if trainer.is_global_zero:
        model, tokenizer = load_checkpoint(best_path)
        export_folder(model, tokenizer, folder / "export")
        if ngram is not None and cfg.test_after_fit and splits["test"]:
            results |= lm_test(cfg, model.eval(), tokenizer, splits, folder, ngram)
        metrics_csv = folder / "metrics.csv"
        if metrics_csv.exists():
            plot_curves(metrics_csv, folder / "curves.png")
        results["skipped_batches"] = module.skipped_batches
        (folder / "results.json").write_text(json.dumps(results, indent=1))
        (folder / "predictions_sample.json").write_text(
            json.dumps(module.last_predictions, ensure_ascii=False, indent=1)
        )
        for logger in trainer.loggers:
            if hasattr(logger, "log_table"):  # W&B: close the run so its files (config, summary) are complete
                logger.experiment.summary.update({k: v for k, v in results.items() if isinstance(v, float)})
                logger.experiment.finish()
        print(summary(results, folder, best_path))
    return results


def summary(results: dict[str, float], folder: Path, best_path: str) -> str:
    """What a person wants at the end of a run: before/after test scores and where everything went."""
    lines = [f"\nrun folder: {folder}", f"best checkpoint: {best_path}", f"exported model: {folder / 'export'}"]
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
    """``train.py``'s job: the metric the sweeper minimises. In a sweep a failing job is recorded in its
    folder (``failed.txt``) and scores +inf, so one bad combination does not end the sweep."""
    from hydra.types import RunMode

    in_sweep = HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN
    try:
        return float(train(cfg).get(cfg.optimized_metric, float("nan")))
    except Exception:
        if not in_sweep:
            raise
        import traceback

        folder = run_dir(cfg)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "failed.txt").write_text(
            traceback.format_exc().strip().splitlines()[-1] + "\n" + traceback.format_exc()
        )
        log.exception("job %s failed; the sweep goes on", cfg.run_name)
        return float("inf")
    finally:
        os.environ.pop("VASR_RUN_DIR", None)
        os.environ.pop("VASR_RUN_NAME", None)
