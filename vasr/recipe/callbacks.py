"""Lightning callbacks: checkpoints named by the run folder, step checkpoints that survive crashes, audio
throughput, a whole-run ETA, Optuna pruning and a watch on the other ranks."""

from __future__ import annotations

import datetime
import logging
import math
import os
import threading
import time
from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint

from vasr.recipe.run_folder import RunFolder, is_writer

log = logging.getLogger("vasr")
# Where an Optuna trial was pruned: the trial's user attribute and the run's results key.
PRUNED_AT = "pruned_at_step"
STORE_GONE = "rank 0 is gone (the job's store, which it hosts, does not answer)"


class BestCheckpoint(ModelCheckpoint):
    """Lightning's ``ModelCheckpoint`` writing into the run folder's ``checkpoints/`` under its names."""

    def __init__(self, run_dir: str | Path, **kwargs) -> None:
        run = RunFolder(Path(run_dir))
        super().__init__(dirpath=run.checkpoints, filename=run.BEST_CHECKPOINT, auto_insert_metric_name=False, **kwargs)


class StepCheckpoint(L.Callback):
    """Writes the run's last checkpoint every N optimizer steps, at the end of fit and on an exception.

    Lightning saves through a temporary file and a rename, so a crash while saving leaves the
    previous one intact.
    """

    def __init__(self, run_dir: str | Path, every_n_steps: int | None) -> None:
        self.path = RunFolder(Path(run_dir)).last_checkpoint
        self.every_n_steps = every_n_steps
        self._saved_step = -1

    def on_train_batch_end(self, trainer: L.Trainer, *args) -> None:
        step = trainer.global_step
        if self.every_n_steps and step and step % self.every_n_steps == 0 and step != self._saved_step:
            trainer.save_checkpoint(self.path, weights_only=False)
            self._saved_step = step

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        trainer.save_checkpoint(self.path, weights_only=False)

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if trainer.global_step:
            trainer.save_checkpoint(self.path, weights_only=False)


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


class OptunaPruning(L.Callback):
    """Reports each validation's ``monitor`` to the job's trial and stops training when the study's pruner judges
    the trial hopeless; rank 0 asks, every rank stops. A no-op outside an Optuna sweep."""

    def __init__(self, monitor: str = "val/wer") -> None:
        self.monitor = monitor
        self.trial = None
        self.pruned_at: int | None = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if trainer.is_global_zero:
            from vasr.recipe.optuna_search import job_trial  # optuna is imported only where a sweep uses it

            self.trial = job_trial()

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        prune = False
        value = trainer.callback_metrics.get(self.monitor)
        if self.trial is not None and value is not None and math.isfinite(float(value)):
            self.trial.report(float(value), trainer.global_step)
            prune = self.trial.should_prune()
        if not trainer.strategy.broadcast(prune):
            return
        self.pruned_at = trainer.global_step
        if self.trial is not None:
            self.trial.set_user_attr(PRUNED_AT, trainer.global_step)
            log.info("trial %d pruned at step %d (%s %.4f)", self.trial.number, self.pruned_at, self.monitor, value)
        trainer.should_stop = True


class RankWatch(L.Callback):
    """Ends a multi-process job promptly when one of its ranks dies, and names it.

    Collectives wait for a dead peer until the process group's timeout (30 minutes for gloo, 10 for NCCL, forever
    for a node whose network went away). Each rank instead bumps a counter in the job's own store every
    ``every_seconds``; a rank that sees another's counter stand still for ``silent_seconds`` (by its own clock, so
    node clocks need not agree) logs which rank went silent and exits; so does every rank when the store is gone
    (rank 0 hosts it). A collective that fails first (gloo notices a closed socket at once) is named the same way.
    Resume with ``ckpt_path=last``.
    """

    def __init__(self, silent_seconds: float = 120, every_seconds: float = 2) -> None:
        self.silent_seconds, self.every_seconds = silent_seconds, every_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        import torch.distributed as dist

        if stage != "fit" or trainer.world_size < 2 or not dist.is_initialized():
            return
        # The store every rank already reaches (torch keeps it behind a private accessor).
        self._store = dist.distributed_c10d._get_default_store()
        self._rank, self._world = trainer.global_rank, trainer.world_size
        self._beats = 0
        self._seen: dict[int, tuple[int, float]] = {}
        self._thread = threading.Thread(target=self._watch, name="vasr-rank-watch", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(self.every_seconds):
            try:
                silent = self.silent_rank(self.silent_seconds)
            except Exception:  # noqa: BLE001 - any failure to reach the store means its host is gone
                self._die(STORE_GONE)
            if silent is not None:
                self._die(
                    f"rank {silent} has been silent for {self.silent_seconds:.0f} s (killed, out of memory, "
                    "or its node lost)"
                )

    def silent_rank(self, seconds: float) -> int | None:
        """Beats once, then the first other rank whose counter has not moved for ``seconds`` (None: all alive)."""
        self._beats += 1
        self._store.set(f"vasr/alive/{self._rank}", str(self._beats))
        now = time.monotonic()
        for rank in range(self._world):
            key = f"vasr/alive/{rank}"
            if rank == self._rank or not self._store.check([key]):
                continue
            count = int(self._store.get(key))
            last_count, since = self._seen.get(rank, (None, now))
            if count != last_count:
                self._seen[rank] = (count, now)
            elif now - since > seconds:
                return rank
        return None

    def _die(self, reason: str) -> None:
        log.error("rank %d: %s; stopping this rank. Resume with ckpt_path=last", self._rank, reason)
        logging.shutdown()
        os._exit(1)

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if self._thread is None or not isinstance(exception, RuntimeError):  # collectives raise RuntimeError
            return
        self._stop.set()
        deadline = time.monotonic() + 3 * self.every_seconds + 1
        try:
            while time.monotonic() < deadline:  # beats go on for a few periods: the dead rank's stands still
                silent = self.silent_rank(2 * self.every_seconds)
                if silent is not None:
                    break
                time.sleep(self.every_seconds)
            else:
                return
            reason = f"rank {silent} stopped answering ({type(exception).__name__})"
        except Exception:  # noqa: BLE001
            reason = STORE_GONE
        self._die(reason)

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self._stop.set()


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
    seconds = sum(item.duration for item in items)
    labels = sum(len(item.text) for item in items) / max(seconds, 1e-9)
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
    if module.transformer_frozen:
        steps = module.hparams.freeze_transformer_steps
        wrong.append(f"the transformer is still frozen (freeze_transformer_steps={steps})")
    elif trainable < total / 10:
        wrong.append(f"only {trainable:,} of {total:,} parameters train")
    else:
        fine.append(f"{trainable:,} of {total:,} parameters train")
    hours = seconds / 3600
    (wrong if hours < 1 else fine).append(f"{hours:.2f} h of training audio" + (": very little" if hours < 1 else ""))
    return wrong + fine
