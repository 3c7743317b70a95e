"""A callback tests add to train.py from the command line (``+callbacks.record=...``): each training batch's
utterance ids and a digest of its audio (augmentation included), by optimizer step, appended to a JSONL file."""

import hashlib
import json
from pathlib import Path

import lightning as L


class RecordBatches(L.Callback):
    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def on_train_batch_start(self, trainer: L.Trainer, module: L.LightningModule, batch: dict, batch_idx: int) -> None:
        if trainer.is_global_zero:
            with self.path.open("a", encoding="utf-8") as handle:
                audio = hashlib.sha1(batch["input_values"].cpu().numpy().tobytes()).hexdigest()
                handle.write(json.dumps({"step": trainer.global_step, "ids": batch["ids"], "audio": audio}) + "\n")


def trained_batches(path: Path) -> dict[int, tuple[list[str], str]]:
    """Step -> (ids, audio digest) of the batch that step trained on; a step replayed after a resume keeps its
    last record."""
    return {row["step"]: (row["ids"], row["audio"]) for row in map(json.loads, path.read_text().splitlines())}
