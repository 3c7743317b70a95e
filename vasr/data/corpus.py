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
from vasr.data.index import ARRAYS_LAYOUT, UtteranceIndex
from vasr.data.manifest import VERIFY_SAMPLE, ValidationReport, read_manifest
from vasr.data.mix import SEPARATOR
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
    and modification time (a manifest edited between two runs in one folder is another corpus), and the layout of
    the saved arrays."""
    found = [OmegaConf.to_container(data, resolve=True), seed, ARRAYS_LAYOUT]
    corpora = [corpus_settings(data, name) for name in named(data.get("corpora") or {}, "data.corpora")]
    manifests = []
    for given in [data, *corpora]:
        manifests += [given.get(key) for key in CORPUS_KEYS[:3]]
        manifests += list(shard_manifests(given.shards).values()) if given.get("shards") else []
    for manifest in manifests:
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
    ``writer`` process); with ``data.corpora``, every corpus's splits as one (:func:`load_corpora`); with
    ``data.shards``, the splits a folder of shards indexes (:mod:`vasr.data.shards`). With ``share`` (the run's
    folder), the writer leaves what it validated there and the other ranks load it, so they neither parse the
    manifests nor read a header again, and hold the very same splits."""
    if data.get("corpora") and data.get("shards"):
        raise ValueError("data.shards and data.corpora together: give each corpus its own (data.corpora.NAME.shards)")
    if not data.get("corpora") and not data.get("shards"):
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
    """Each manifest of ``data`` (of each of its corpora) read and validated, and the splits made."""
    return load_corpora(data, seed) if data.get("corpora") else read_corpus(data, seed)


def read_corpus(data: DictConfig, seed: int) -> tuple[Splits, list[ValidationReport]]:
    """One corpus's manifest(s) validated and split as ``data`` says; a folder of shards with the durations
    measured when the shards were written."""
    shards = data.get("shards")
    manifests = shard_manifests(shards) if shards else {}
    return load_splits(
        manifests.get("train", data.manifest),
        shards or data.audio_dir,
        val_manifest=manifests.get("val", data.val_manifest),
        test_manifest=manifests.get("test", data.test_manifest),
        val_ratio=data.val_ratio,
        test_ratio=data.test_ratio,
        seed=seed,
        **read_options(data) | ({"verify_durations": "none"} if shards else {}),
    )


def read_options(data: DictConfig) -> dict:
    """How ``data``'s manifests are read: text normalisation, duration limits, bad rows, duration checks, reading
    processes."""
    return {
        "numbers": data.numbers,
        "drop": DEFAULT_DROP if data.drop is None else data.drop,
        "skip_bad": data.skip_bad,
        "min_duration": data.min_duration,
        "max_duration": data.max_duration,
        "verify_durations": data.get("verify_durations", "sample"),
        "verify_sample": data.get("verify_sample", VERIFY_SAMPLE),
        "workers": data.get("read_workers"),
    }


def load_test_sets(data: DictConfig) -> dict[str, UtteranceIndex]:
    """``data.test_sets`` (name -> manifest, or name -> {manifest, audio_dir}; ``data.audio_dir`` by default), each
    read whole (long utterances kept: dropping them would flatter the scores), ids prefixed with the set's name;
    empty when none is given. A name of ``data.corpora`` is refused: that corpus's test split is its row."""
    sets = {}
    for name, given in named(data.get("test_sets") or {}, "data.test_sets").items():
        given = OmegaConf.create({"manifest": given}) if isinstance(given, str) else given
        if SEPARATOR in name or not given.get("manifest") or set(given) - {"manifest", "audio_dir"}:
            raise ValueError(f"data.test_sets.{name}: give a manifest path, or manifest and audio_dir; no '/' in names")
        if name in (data.get("corpora") or {}):
            raise ValueError(f"data.test_sets.{name}: a corpus of data.corpora is named so; its test split is its row")
        options = read_options(data) | {"min_duration": None, "max_duration": None}
        items, report = read_manifest(given.manifest, given.get("audio_dir", data.get("audio_dir")), **options)
        log.info("test set %s: %s", name, report.summary())
        sets[name] = items.prefixed(f"{name}{SEPARATOR}")
    return sets


# What only a corpus of ``data.corpora`` says; what ``data`` says of the others (audio folder, split ratios, text
# normalisation, duration limits, bad rows) applies to every corpus that does not say otherwise.
CORPUS_KEYS = ("manifest", "val_manifest", "test_manifest", "weight", "shards")
SHARED_KEYS = ("audio_dir", "val_ratio", "test_ratio", "numbers", "drop", "skip_bad", "min_duration", "max_duration",
               "verify_durations", "verify_sample", "read_workers")  # fmt: skip


def load_corpora(data: DictConfig, seed: int) -> tuple[Splits, list[ValidationReport]]:
    """Each corpus of ``data.corpora`` (name -> its settings) validated and split on its own, its ids prefixed with
    its name (``vivos/ID``), and each split the corpora's together."""
    settings = {name: corpus_settings(data, name) for name in named(data.corpora, "data.corpora")}
    sharded = {name: bool(own.shards) for name, own in settings.items()}
    if len(set(sharded.values())) > 1:
        listed = ", ".join(f"{name} from {'shards' if on else 'files'}" for name, on in sharded.items())
        raise ValueError(f"data.corpora: {listed}: a mix trains from shards or from files, not both (vasr-shard them)")
    parts: dict[str, Splits] = {}
    reports: list[ValidationReport] = []
    for name, own in settings.items():
        parts[name], found = read_corpus(own, seed)
        reports += found
        log.info("corpus %s: %s", name, ", ".join(f"{split} {len(items)}" for split, items in parts[name].items()))
    splits = {
        split: UtteranceIndex.concat([part[split].prefixed(f"{name}{SEPARATOR}") for name, part in parts.items()])
        for split in ("train", "val", "test")
    }
    return splits, reports


def named(given: object, key: str) -> DictConfig | dict:
    """``given`` when it is a mapping of names (a list, say, is refused naming ``key`` and the form it takes)."""
    if not isinstance(given, (DictConfig, dict)):
        raise ValueError(f"{key} must map names to manifests ({{vivos: PATH, cv: {{manifest: PATH}}}}), not {given}")
    return given


def corpus_settings(data: DictConfig, name: str) -> DictConfig:
    """The settings corpus ``name`` is read with: its own (``manifest`` at least), then ``data``'s shared ones."""
    if not name or SEPARATOR in name:
        raise ValueError(f"data.corpora: corpus name {name!r} must be non-empty and without {SEPARATOR!r}")
    own = data.corpora[name]
    own = OmegaConf.create({"manifest": own}) if isinstance(own, str) else own
    unknown = sorted(set(own) - set(CORPUS_KEYS) - set(SHARED_KEYS))
    if unknown or bool(own.get("manifest")) == bool(own.get("shards")):
        raise ValueError(
            f"data.corpora.{name}: give its manifest or its shards (a folder vasr-shard wrote), and only "
            f"{', '.join(CORPUS_KEYS + SHARED_KEYS)}" + (f" (unknown: {', '.join(unknown)})" if unknown else "")
        )
    defaults = {"manifest": None, "val_manifest": None, "test_manifest": None, "shards": None} | {
        key: data.get(key) for key in SHARED_KEYS if key in data
    }
    return OmegaConf.merge(defaults, own)


def corpus_weights(data: DictConfig) -> dict[str, float]:
    """Each corpus's weight in the training mix (1 unless it gives one); empty for a run on one corpus."""
    corpora = data.get("corpora") or {}
    return {name: 1.0 if isinstance(own, str) else float(own.get("weight", 1.0)) for name, own in corpora.items()}


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
