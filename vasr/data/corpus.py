"""The corpus of a run: synthesised on first use, validated, split, checked against the model, written."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from omegaconf import DictConfig
from transformers import Wav2Vec2CTCTokenizer

from vasr.data.ctc_fit import check_ctc_fit
from vasr.data.index import UtteranceIndex
from vasr.data.manifest import VERIFY_SAMPLE, ValidationReport
from vasr.data.shards import shard_manifests
from vasr.data.splits import load_splits
from vasr.text.normalize import DEFAULT_DROP

log = logging.getLogger("vasr")
Splits = dict[str, UtteranceIndex]


def ensure_corpus(data: DictConfig, writer: bool, wait_seconds: float = 3600) -> None:
    """Synthesise the demo corpus on first use: the writer process (global rank 0) makes it, ranks started
    beside it wait for it."""
    manifest = Path(data.manifest)
    if not data.get("synthesize") or manifest.exists():
        return
    if writer:
        from vasr.synth import write_corpus  # the synthesiser (eSpeak NG) only when a corpus is made

        log.info("corpus not found: synthesising %d utterances into %s", data.synthesize.num, data.audio_dir)
        write_corpus(manifest.parent, data.synthesize.num, data.synthesize.seed, text=data.synthesize.get("text"))
        return
    deadline = time.monotonic() + wait_seconds
    while not manifest.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"rank 0 did not write {manifest} in {wait_seconds:.0f} s")
        time.sleep(1)


def load_corpus(data: DictConfig, seed: int, writer: bool = True) -> tuple[Splits, list[ValidationReport]]:
    """The corpus of ``data`` validated and split (the demo corpus synthesised first if missing, by the
    ``writer`` process); with ``data.shards``, the splits a folder of shards indexes (:mod:`vasr.data.shards`), their
    durations as measured when the shards were written."""
    shards = data.get("shards")
    if not shards:
        ensure_corpus(data, writer)
    manifests = shard_manifests(shards) if shards else {}
    return load_splits(
        manifests.get("train", data.manifest),
        shards or data.audio_dir,
        val_manifest=manifests.get("val", data.val_manifest),
        test_manifest=manifests.get("test", data.test_manifest),
        val_ratio=data.val_ratio,
        test_ratio=data.test_ratio,
        seed=seed,
        numbers=data.numbers,
        drop=DEFAULT_DROP if data.drop is None else data.drop,
        skip_bad=data.skip_bad,
        min_duration=data.min_duration,
        max_duration=data.max_duration,
        verify_durations="none" if shards else data.get("verify_durations", "sample"),
        verify_sample=data.get("verify_sample", VERIFY_SAMPLE),
    )


def finalize_corpus(
    splits: Splits,
    reports: list[ValidationReport],
    tokenizer: Wav2Vec2CTCTokenizer,
    frames: Callable[[int], int],
    skip_bad: bool,
) -> Splits:
    """Transcripts the model cannot emit in their audio's ``frames`` (the model family's count for N samples)
    rejected (``file:line``) or skipped, before any training step; the reports logged."""
    splits = check_ctc_fit(splits, lambda text: tokenizer(text).input_ids, frames, reports, skip_bad)
    for report in reports:
        log.info("validation: %s", report.summary())
    log.info("split: %s", ", ".join(f"{k} {len(v)}" for k, v in splits.items()))
    return splits
