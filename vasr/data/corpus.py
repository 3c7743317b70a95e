"""The corpus of a run: synthesised on first use, validated, split, checked against the model, written."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from transformers import Wav2Vec2CTCTokenizer

from vasr.data.ctc_fit import check_ctc_fit
from vasr.data.index import UtteranceIndex
from vasr.data.manifest import VERIFY_SAMPLE, ValidationReport, read_manifest
from vasr.data.mix import SEPARATOR
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
    ``writer`` process); with ``data.corpora``, every corpus's splits as one (:func:`load_corpora`)."""
    if data.get("corpora"):
        return load_corpora(data, seed)
    ensure_corpus(data, writer)
    return read_corpus(data, seed)


def read_corpus(data: DictConfig, seed: int) -> tuple[Splits, list[ValidationReport]]:
    """One corpus's manifest(s) validated and split as ``data`` says."""
    return load_splits(
        data.manifest,
        data.audio_dir,
        val_manifest=data.val_manifest,
        test_manifest=data.test_manifest,
        val_ratio=data.val_ratio,
        test_ratio=data.test_ratio,
        seed=seed,
        **read_options(data),
    )


def read_options(data: DictConfig) -> dict:
    """How ``data``'s manifests are read: text normalisation, duration limits, bad rows, duration checks."""
    return {
        "numbers": data.numbers,
        "drop": DEFAULT_DROP if data.drop is None else data.drop,
        "skip_bad": data.skip_bad,
        "min_duration": data.min_duration,
        "max_duration": data.max_duration,
        "verify_durations": data.get("verify_durations", "sample"),
        "verify_sample": data.get("verify_sample", VERIFY_SAMPLE),
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
CORPUS_KEYS = ("manifest", "val_manifest", "test_manifest", "weight")
SHARED_KEYS = ("audio_dir", "val_ratio", "test_ratio", "numbers", "drop", "skip_bad", "min_duration", "max_duration",
               "verify_durations", "verify_sample")  # fmt: skip


def load_corpora(data: DictConfig, seed: int) -> tuple[Splits, list[ValidationReport]]:
    """Each corpus of ``data.corpora`` (name -> its settings) validated and split on its own, its ids prefixed with
    its name (``vivos/ID``), and each split the corpora's together."""
    named(data.corpora, "data.corpora")
    parts: dict[str, Splits] = {}
    reports: list[ValidationReport] = []
    for name in data.corpora:
        parts[name], found = read_corpus(corpus_settings(data, name), seed)
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
    if unknown or not own.get("manifest"):
        raise ValueError(
            f"data.corpora.{name}: give its manifest, and only {', '.join(CORPUS_KEYS + SHARED_KEYS)}"
            + (f" (unknown: {', '.join(unknown)})" if unknown else "")
        )
    defaults = {"val_manifest": None, "test_manifest": None} | {
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
