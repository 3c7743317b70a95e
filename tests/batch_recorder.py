"""A callback tests add to train.py from the command line (``+callbacks.record=...``): each training batch's
utterance ids and a digest of its audio (augmentation included), by optimizer step and rank, appended to a JSONL
file (every rank appends its own lines)."""

import hashlib
import json
from pathlib import Path

import lightning as L


class RecordBatches(L.Callback):
    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def on_train_batch_start(self, trainer: L.Trainer, module: L.LightningModule, batch: dict, batch_idx: int) -> None:
        inputs = batch["input_values"] if "input_values" in batch else batch["input_features"]  # the family's
        audio = hashlib.sha1(inputs.cpu().numpy().tobytes()).hexdigest()
        row = {"step": trainer.global_step, "rank": trainer.global_rank, "ids": batch["ids"], "audio": audio}
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")


def trained_batches(path: Path, rank: int = 0) -> dict[int, tuple[list[str], str]]:
    """Step -> (ids, audio digest) of the batch ``rank`` trained on at that step; a step replayed after a resume
    keeps its last record."""
    rows = [row for row in map(json.loads, path.read_text().splitlines()) if row["rank"] == rank]
    return {row["step"]: (row["ids"], row["audio"]) for row in rows}


def record_to(path: Path) -> list[str]:
    """train.py's options that add this callback, appending to ``path``."""
    return ["+callbacks.record._target_=tests.batch_recorder.RecordBatches", f"+callbacks.record.path={path}"]


def batches_by_rank(path: Path, steps: int, ranks: int = 2) -> list[dict[int, tuple[list[str], str]]]:
    """:func:`trained_batches` of every rank, each of which must have trained steps ``0 … steps - 1``."""
    found = [trained_batches(path, rank) for rank in range(ranks)]
    assert all(sorted(batches) == list(range(steps)) for batches in found)
    return found
