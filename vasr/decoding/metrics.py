"""Corpus WER/CER with jiwer over (id, reference, hypothesis) triples, deduplicated by id."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import jiwer

from vasr.data.manifest import Item


def error_rates(rows: Iterable[tuple[str, str, str]]) -> dict[str, float]:
    """Corpus-level WER and CER; rows repeated across DDP ranks (same id) count once."""
    unique = {uid: (ref, hyp) for uid, ref, hyp in rows if ref}
    if not unique:
        return {"wer": float("nan"), "cer": float("nan"), "utterances": 0}
    refs = [ref for ref, _ in unique.values()]
    hyps = [hyp for _, hyp in unique.values()]
    return {"wer": jiwer.wer(refs, hyps), "cer": jiwer.cer(refs, hyps), "utterances": len(unique)}


def write_predictions(path: str | Path, items: Sequence[Item], hypotheses: dict[str, Sequence[str]]) -> dict:
    """The one per-utterance results file: a JSON line per utterance with each decoder's hypothesis and
    WER (keys ``hypothesis``/``wer`` for greedy, ``lm_hypothesis``/``lm_wer`` with the n-gram);
    returns corpus WER/CER per decoder (``wer``, ``cer``, ``lm_wer``, ``lm_cer``)."""
    with Path(path).open("w", encoding="utf-8") as handle:
        for index, item in enumerate(items):
            row = {"id": item.id, "reference": item.text}
            for name, hyps in hypotheses.items():
                prefix = "" if name == "greedy" else f"{name}_"
                row |= {f"{prefix}hypothesis": hyps[index], f"{prefix}wer": jiwer.wer(item.text, hyps[index])}
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    rates: dict = {}
    for name, hyps in hypotheses.items():
        prefix = "" if name == "greedy" else f"{name}_"
        found = error_rates((item.id, item.text, hyp) for item, hyp in zip(items, hyps, strict=True))
        rates |= {f"{prefix}wer": found["wer"], f"{prefix}cer": found["cer"]}
    return rates
