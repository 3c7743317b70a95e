"""The corpus of a run: synthesised on first use, validated, split, checked against the model, written."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf
from transformers import Wav2Vec2CTCTokenizer

from vasr.data.ctc_fit import check_ctc_fit
from vasr.data.index import UtteranceIndex
from vasr.data.manifest import VERIFY_SAMPLE, ValidationReport
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
    wait_for(manifest, "rank 0 did not write", wait_seconds)


def wait_for(path: Path, failure: str, wait_seconds: float = 3600, also: Path | None = None) -> None:
    """Until ``path`` (or ``also``) exists (another process writes it); ``failure`` and the path in the error after
    ``wait_seconds``."""
    deadline = time.monotonic() + wait_seconds
    while not path.exists() and not (also and also.exists()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{failure} {path} in {wait_seconds:.0f} s")
        time.sleep(1)


def corpus_key(data: DictConfig, seed: int) -> str:
    """What the validated corpus depends on: ``data``'s settings, the seed of the split, and each manifest's size
    and modification time (a manifest edited between two runs in one folder is another corpus)."""
    found = [OmegaConf.to_container(data, resolve=True), seed]
    for manifest in (data.manifest, data.get("val_manifest"), data.get("test_manifest")):
        path = Path(manifest) if manifest else None
        found.append([path.stat().st_size, path.stat().st_mtime_ns] if path and path.is_file() else None)
    return hashlib.sha256(json.dumps(found, sort_keys=True, default=str).encode()).hexdigest()[:16]


def save_corpus(path: Path, splits: Splits, reports: list[ValidationReport]) -> None:
    """``splits`` and ``reports`` in one file (numpy arrays, no pickle), written whole or not at all."""
    arrays = {f"{name}/{key}": array for name, items in splits.items() for key, array in items.arrays().items()}
    arrays["reports"] = np.array(json.dumps([report.to_dict() for report in reports]))
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as handle:
        np.savez(handle, **arrays)
    partial.replace(path)


def load_saved_corpus(path: Path) -> tuple[Splits, list[ValidationReport]]:
    """What :func:`save_corpus` wrote."""
    with np.load(path, allow_pickle=False) as found:
        arrays = {key: found[key] for key in found.files}
    names = dict.fromkeys(key.split("/")[0] for key in arrays if "/" in key)  # in the order saved
    splits = {
        name: UtteranceIndex.from_arrays({k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith(f"{name}/")})
        for name in names
    }
    reports = [ValidationReport.from_dict(found) for found in json.loads(str(arrays["reports"]))]
    return splits, reports


def load_corpus(
    data: DictConfig, seed: int, writer: bool = True, share: Path | None = None
) -> tuple[Splits, list[ValidationReport]]:
    """The corpus of ``data`` validated and split (the demo corpus synthesised first if missing, by the
    ``writer`` process). With ``share`` (the run's folder), the writer leaves what it validated there and the other
    ranks load it, so they neither parse the manifests nor read a header again, and hold the very same splits."""
    ensure_corpus(data, writer)
    if share is None:
        return validate_corpus(data, seed)
    shared = share / f"corpus-{corpus_key(data, seed)}.npz"
    failed = shared.with_suffix(".failed")
    if writer:
        failed.unlink(missing_ok=True)
        try:
            splits, reports = validate_corpus(data, seed)
        except Exception as error:  # the other ranks stop with it rather than wait for a file that never comes
            share.mkdir(parents=True, exist_ok=True)
            failed.write_text(f"{type(error).__name__}: {error}", encoding="utf-8")
            raise
        save_corpus(shared, splits, reports)
        return splits, reports
    wait_for(shared, "rank 0 did not write", also=failed)
    if failed.exists():
        raise RuntimeError(f"rank 0 could not validate the corpus: {failed.read_text(encoding='utf-8')}")
    return load_saved_corpus(shared)


def forget_shared(share: Path) -> None:
    """Remove what :func:`load_corpus` left in ``share`` for the other ranks, once they have it."""
    for path in [*share.glob("corpus-*.npz"), *share.glob("corpus-*.failed")]:
        path.unlink(missing_ok=True)


def validate_corpus(data: DictConfig, seed: int) -> tuple[Splits, list[ValidationReport]]:
    """Each manifest of ``data`` read and validated, and the splits made."""
    return load_splits(
        data.manifest,
        data.audio_dir,
        val_manifest=data.val_manifest,
        test_manifest=data.test_manifest,
        val_ratio=data.val_ratio,
        test_ratio=data.test_ratio,
        seed=seed,
        numbers=data.numbers,
        drop=DEFAULT_DROP if data.drop is None else data.drop,
        skip_bad=data.skip_bad,
        min_duration=data.min_duration,
        max_duration=data.max_duration,
        verify_durations=data.get("verify_durations", "sample"),
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
