"""A callback tests add to train.py from the command line (``+callbacks.hold=...``): rank 0 stops before optimizer
step ``step`` (the checkpoints of the steps before it written) and says so in ``marker``, then waits to be killed:
a kill -9 at a known step however loaded the machine is."""

import time
from pathlib import Path

import lightning as L

HOLD_SECONDS = 3600  # longer than any test waits: the test kills the run first


class HoldAt(L.Callback):
    def __init__(self, step: int, marker: str) -> None:
        self.step, self.marker = step, Path(marker)

    def on_train_batch_start(self, trainer: L.Trainer, module: L.LightningModule, batch: dict, batch_idx: int) -> None:
        if trainer.global_step == self.step and trainer.global_rank == 0:
            self.marker.write_text(str(self.step), encoding="utf-8")
            time.sleep(HOLD_SECONDS)
