"""Train/validation/test splits: seeded from one manifest, or given as separate manifests."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import numpy as np
import orjson

from vasr.data.index import CHUNK, UtteranceIndex, values
from vasr.data.manifest import ValidationReport, read_manifest

SPLITS = ("train", "val", "test")


def random_split(items: UtteranceIndex, val: float, test: float, seed: int) -> dict[str, UtteranceIndex]:
    """Seeded split by ratio; each item lands in exactly one split."""
    if not 0 <= val + test < 1:
        raise ValueError(f"val ({val}) + test ({test}) must be in [0, 1)")
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    n_val, n_test = round(len(items) * val), round(len(items) * test)
    picks = {"val": order[:n_val], "test": order[n_val : n_val + n_test], "train": order[n_val + n_test :]}
    return {name: items.take(np.sort(np.asarray(picks[name], dtype=np.int64))) for name in SPLITS}


def load_splits(
    manifest: str | Path,
    audio_dir: str | Path | None,
    *,
    val_manifest: str | Path | None = None,
    test_manifest: str | Path | None = None,
    val_ratio: float = 0.1,
    test_ratio: float = 0.1,
    seed: int = 0,
    **read_options,
) -> tuple[dict[str, UtteranceIndex], list[ValidationReport]]:
    """Validate the manifest(s) and return items per split plus one report per manifest read."""
    items, report = read_manifest(manifest, audio_dir, **read_options)
    reports = [report]
    if val_manifest is None and test_manifest is None:
        return random_split(items, val_ratio, test_ratio, seed), reports
    splits = {"train": items, "val": UtteranceIndex.of([]), "test": UtteranceIndex.of([])}
    for name, path in (("val", val_manifest), ("test", test_manifest)):
        if path is not None:
            # Evaluation splits keep long utterances: filtering them would flatter the scores.
            options = {**read_options, "min_duration": None, "max_duration": None}
            splits[name], extra = read_manifest(path, audio_dir, **options)
            reports.append(extra)
    return splits, reports


def write_splits(splits: dict[str, UtteranceIndex], folder: str | Path) -> None:
    """Save each split as a manifest of its items, reusable as ``data.val_manifest`` etc. (paths absolute, each
    folder resolved once: a million utterances are a few thousand folders)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, items in splits.items():
        paths = items.column("path").resolved()
        columns = (items.column("id"), items.column("sentence"), paths, values(items.durations))
        with (folder / f"{name}.jsonl").open("wb") as handle:
            lines = (
                json_line({"id": uid, "sentence": sentence, "file": path, "duration": duration})
                for uid, sentence, path, duration in zip(*columns, strict=True)
            )
            while chunk := list(itertools.islice(lines, CHUNK)):
                handle.write(b"".join(chunk))


def json_line(record: dict) -> bytes:
    """``record`` as one line of JSON (orjson: a quarter of json's time); where orjson refuses a string (a lone
    surrogate, which a manifest's ``\\ud800`` escape can put there), json's ASCII escapes, which read back the same."""
    try:
        return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
    except orjson.JSONEncodeError:
        return (json.dumps(record) + "\n").encode("ascii")
