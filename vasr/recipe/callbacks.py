"""Lightning callbacks: checkpoints named by the run folder, step checkpoints that survive crashes, audio
throughput, a whole-run ETA and a watch on the other ranks (Optuna's pruning: :mod:`vasr.recipe.sweep`)."""

from __future__ import annotations

import datetime
import logging
import time
from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint
from torch import nn
from torch.distributed import Store

from vasr.model.adapters import adapter_language
from vasr.model.family import Family
from vasr.model.lora import peft_settings
from vasr.recipe.run_folder import RunFolder, is_writer

log = logging.getLogger("vasr")


class BestCheckpoint(ModelCheckpoint):
    """Lightning's ``ModelCheckpoint`` writing into the run folder's ``checkpoints/`` under its names."""

    def __init__(self, run_dir: str | Path, **kwargs) -> None:
        run = RunFolder(Path(run_dir))
        super().__init__(dirpath=run.checkpoints, filename=run.BEST_CHECKPOINT, auto_insert_metric_name=False, **kwargs)


class StepCheckpoint(L.Callback):
    """Writes the run's last checkpoint every N optimizer steps, at the end of fit and on an exception (whole or not
    at all: the run's Trainer writes through :class:`~vasr.recipe.checkpoint_io.AtomicCheckpointIO`)."""

    def __init__(self, run_dir: str | Path, every_n_steps: int | None) -> None:
        self.path = RunFolder(Path(run_dir)).last_checkpoint
        self.every_n_steps = every_n_steps
        self._saved_step = -1

    def save(self, trainer: L.Trainer) -> None:
        trainer.save_checkpoint(self.path, weights_only=False)

    def on_train_batch_end(self, trainer: L.Trainer, *args) -> None:
        step = trainer.global_step
        if self.every_n_steps and step and step % self.every_n_steps == 0 and step != self._saved_step:
            self.save(trainer)
            self._saved_step = step

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.save(trainer)

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if trainer.global_step:
            self.save(trainer)


class Throughput(L.Callback):
    """Logs audio seconds trained per wall-clock second (all ranks together).

    Timed from one batch's end to the next, so loading, the step and the optimizer all count; the
    clock restarts when training (re)starts, with each epoch and after validation, which are not
    training time.
    """

    def _restart(self, *args) -> None:
        self._last = time.perf_counter()

    on_train_start = on_train_epoch_start = on_validation_end = _restart

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch: dict, *args) -> None:
        now = time.perf_counter()
        seconds = batch["audio_seconds"] * trainer.world_size
        pl_module.log("train/audio_seconds_per_second", seconds / (now - self._last), batch_size=1)
        self._last = now


class RunEta(L.Callback):
    """Logs the whole run's progress and time left every N steps (the progress bar only knows the epoch)."""

    def __init__(self, every_n_steps: int = 50) -> None:
        self.every_n_steps = every_n_steps

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start, self._first_step = time.perf_counter(), trainer.global_step

    def on_train_batch_end(self, trainer: L.Trainer, *args) -> None:
        step = trainer.global_step
        done = step - self._first_step
        if not done or step % self.every_n_steps or not is_writer():
            return
        total = int(trainer.estimated_stepping_batches)
        elapsed = time.perf_counter() - self._start
        left = datetime.timedelta(seconds=round(elapsed / done * (total - step)))
        log.info("step %d/%d (%.0f%%), %.2f s/step, ETA %s", step, total, 100 * step / total, elapsed / done, left)


class RankWatch(L.Callback):
    """Names the rank a multi-process job lost, once a collective has failed, and lets the job end.

    The bound is the engines': a collective waits for a dead or frozen peer at most the process group's timeout
    (``trainer.collective_timeout_s``) and fails at once on a closed connection. Their errors name no rank
    ("Timed out waiting 600000ms for recv operation", "Connection closed by peer [10.0.0.7]:41237"), and torch's
    ``monitored_barrier`` names one only from rank 0 and hangs on the other ranks when rank 0 is frozen
    (docs/faults.md). So every rank checks in to a store of this callback's own, hosted by rank 0, when a
    collective fails; the ranks that have not checked in within ``wait_seconds`` are named, a store that does not
    answer names rank 0. The process group is then destroyed, so the rest of the exception path (the last
    checkpoint, Lightning closing the loggers) does not wait on the lost rank again. Resume with
    ``ckpt_path=last``.
    """

    def __init__(self, wait_seconds: float = 30) -> None:
        self.wait_seconds = wait_seconds
        self._store = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        import torch.distributed as dist

        if stage != "fit" or trainer.world_size < 2 or not dist.is_initialized():
            return
        host = trainer.strategy.cluster_environment.main_address
        timeout = datetime.timedelta(seconds=self.wait_seconds)
        server = (
            dist.TCPStore(host, 0, is_master=True, wait_for_workers=False, timeout=timeout)
            if trainer.is_global_zero
            else None
        )
        port = trainer.strategy.broadcast(server.port if server else 0, src=0)
        self.watch(server if server is not None else dist.TCPStore(host, port, timeout=timeout), trainer)

    def watch(self, store: Store, trainer: L.Trainer) -> None:
        """Checks in to ``store`` when a collective of ``trainer``'s ranks fails."""
        self._store, self._rank, self._world = store, trainer.global_rank, trainer.world_size

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        import torch.distributed as dist

        if self._store is None or not isinstance(exception, RuntimeError):  # collectives raise RuntimeError
            return
        missing = self.missing_ranks()
        if missing:
            log.error(
                "rank %d: rank %s gone (killed, out of memory, frozen or its node lost: not heard from within %.0f s "
                "of the failed collective); stopping this rank. Resume with ckpt_path=last",
                self._rank,
                " and ".join(map(str, missing)) + (" is" if len(missing) == 1 else " are"),
                self.wait_seconds,
            )
        if dist.is_initialized():
            dist.destroy_process_group()

    def missing_ranks(self) -> list[int]:
        """Checks in, then the ranks that have not within ``wait_seconds``; ``[0]`` when the store (on rank 0) is
        gone or frozen."""
        try:
            self._store.set(f"vasr/failed/{self._rank}", "1")
            deadline = time.monotonic() + self.wait_seconds
            while True:
                missing = [r for r in range(self._world) if not self._store.check([f"vasr/failed/{r}"])]
                if not missing or time.monotonic() > deadline:
                    return missing
                time.sleep(0.5)
        except Exception:  # noqa: BLE001 - any failure to reach the store means its host, rank 0, is gone
            return [0]


class BlankPlateau(L.Callback):
    """Says when the model still outputs only blanks after ``after_steps`` (WER stuck at 1.0, the commonest
    wav2vec 2.0 fine-tuning complaint), with the likely causes checked: learning rate, the vocabulary's overlap
    with the pretrained head, labels per second of audio against the frames the model emits, what is frozen, and
    how much audio there is. In the log and, as ``diagnosis/blank_plateau``, in every logger; once a run."""

    def __init__(self, after_steps: int = 500, empty_share: float = 0.95) -> None:
        self.after_steps, self.empty_share = after_steps, empty_share
        self.fired_at: int | None = None

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        empty = trainer.callback_metrics.get("val/empty_hypotheses")
        step = trainer.global_step
        if trainer.sanity_checking or self.fired_at is not None or empty is None or step < self.after_steps:
            return
        if float(empty) < self.empty_share:
            return
        self.fired_at = step
        if not trainer.is_global_zero:
            return
        blank = float(trainer.callback_metrics.get("val/blank_frames", float("nan")))
        causes = likely_causes(trainer, pl_module)
        log.warning(
            "step %d: the model still outputs only blanks (%.0f%% of validation hypotheses empty, %.1f%% of frames "
            "blank); likely causes, checked:\n  - %s",
            step,
            100 * float(empty),
            100 * blank,
            "\n  - ".join(causes),
        )
        for logger in trainer.loggers:
            logger.log_metrics({"diagnosis/blank_plateau": 1.0}, step=step)
            if hasattr(logger, "log_table"):  # W&B: the causes beside the run's summary
                logger.experiment.summary["diagnosis/blank_plateau"] = "; ".join(causes)


def likely_causes(trainer: L.Trainer, module: L.LightningModule) -> list[str]:
    """Each usual cause of a blank plateau, checked against this run: what is wrong first, what is fine after."""
    wrong, fine = [], []
    lr = trainer.optimizers[0].param_groups[0]["lr"]
    if lr < 1e-6:
        wrong.append(f"learning rate {lr:.1e} now: too low to move the model (fine-tuning uses 1e-5 to 1e-3)")
    elif lr > 1e-2:
        wrong.append(f"learning rate {lr:.1e} now: so high that training collapses to all blanks; try 1e-5 to 1e-3")
    else:
        fine.append(f"learning rate {lr:.1e} is in the usual range")
    vocab = len(module.tokenizer)
    if module.kept_head_rows is None:
        fine.append(f"the CTC head is new ({vocab} tokens, no pretrained head): it needs more steps than a reused one")
    elif module.kept_head_rows < vocab / 2:
        wrong.append(
            f"only {module.kept_head_rows} of {vocab} tokens reuse the pretrained head's rows: the vocabulary does "
            "not match the checkpoint's (vocab=pretrained or union keeps them)"
        )
    else:
        fine.append(f"{module.kept_head_rows} of {vocab} tokens reuse the pretrained head's rows")
    items = trainer.datamodule.datasets["train"].items
    seconds = float(items.durations.sum())
    labels = len(items.column("text").joined()) / max(seconds, 1e-9)
    frames = 1 / module.family.frame_seconds
    if labels > frames / 2:
        wrong.append(
            f"{labels:.1f} labels per second of audio against {frames:.0f} frames: CTC cannot fit them (wrong "
            "transcripts, or audio of another sample rate)"
        )
    else:
        fine.append(f"{labels:.1f} labels per second of audio, {frames:.0f} frames: they fit")
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    total = sum(p.numel() for p in module.parameters())
    parts = trained_parts(module.model)
    base_frozen_by_design = peft_settings(module.model) is not None or adapter_language(module.model) is not None
    if module.transformer_frozen:
        steps = module.hparams.freeze_transformer_steps
        wrong.append(f"the transformer is still frozen (freeze_transformer_steps={steps}): {parts}")
    elif trainable < total / 10 and not base_frozen_by_design:
        wrong.append(f"only {trainable:,} of {total:,} parameters train: {parts}")
    else:
        design = " (LoRA or adapters: the base stays frozen by design)" if base_frozen_by_design else ""
        fine.append(f"{trainable:,} of {total:,} parameters train{design}: {parts}")
    hours = seconds / 3600
    (wrong if hours < 1 else fine).append(f"{hours:.2f} h of training audio" + (": very little" if hours < 1 else ""))
    return wrong + fine


def trained_parts(model: nn.Module) -> str:
    """What of ``model`` trains, part by part (its family's encoder's parts and the head), read from the weights'
    ``requires_grad``, so the diagnosis names what this run froze: a feature encoder where the family has one, the
    base under LoRA or MMS adapters (their own weights train inside it). E.g. ``frozen: wav2vec2.feature_extractor;
    partly trained: wav2vec2.encoder (2,304 of 50,000 weights); trained: wav2vec2.feature_projection, lm_head``."""
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    encoder = Family.encoder(inner)
    parts = [(f"{inner.base_model_prefix}.{name}", child) for name, child in encoder.named_children()]
    parts += [(name, child) for name, child in inner.named_children() if child is not encoder]
    found: dict[str, list[str]] = {"frozen": [], "partly trained": [], "trained": []}
    for name, part in parts:
        sizes = [(p.numel(), p.requires_grad) for p in part.parameters()]
        total, trained = sum(n for n, _ in sizes), sum(n for n, grad in sizes if grad)
        if not total:
            continue
        if trained == total:
            found["trained"].append(name)
        elif trained:
            found["partly trained"].append(f"{name} ({trained:,} of {total:,} weights)")
        else:
            found["frozen"].append(name)
    return "; ".join(f"{state}: {', '.join(names)}" for state, names in found.items() if names)
