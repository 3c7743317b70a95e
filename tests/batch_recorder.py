"""A callback tests add to train.py from the command line (``+callbacks.record=...``): each training batch's
utterance ids, by optimizer step, appended to a JSONL file."""

import json
from pathlib import Path

import lightning as L


class RecordBatches(L.Callback):
    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def on_train_batch_start(self, trainer: L.Trainer, module: L.LightningModule, batch: dict, batch_idx: int) -> None:
        if trainer.is_global_zero:
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps({"step": trainer.global_step, "ids": batch["ids"]}) + "\n")


def trained_batches(path: Path) -> dict[int, list[str]]:
    """Step -> ids of the batch that step trained on; a step replayed after a resume keeps its last record."""
    return {row["step"]: row["ids"] for row in map(json.loads, path.read_text().splitlines())}
