"""Lightning callbacks: checkpoints named by the run folder, step checkpoints that survive crashes, audio
throughput and a whole-run ETA."""

from __future__ import annotations

import datetime
import logging
import math
import time
from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint

from vasr.recipe.run_folder import RunFolder, is_writer

log = logging.getLogger("vasr")


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
            self.trial.set_user_attr("pruned_at_step", trainer.global_step)
            log.info("trial %d pruned at step %d (%s %.4f)", self.trial.number, self.pruned_at, self.monitor, value)
        trainer.should_stop = True
