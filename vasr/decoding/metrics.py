"""Corpus WER/CER with jiwer over (id, reference, hypothesis) triples, deduplicated by id."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import jiwer


def error_rates(rows: Iterable[tuple[str, str, str]]) -> dict[str, float]:
    """Corpus-level WER and CER; rows repeated across DDP ranks (same id) count once."""
    unique = {uid: (ref, hyp) for uid, ref, hyp in rows if ref}
    if not unique:
        return {"wer": float("nan"), "cer": float("nan"), "utterances": 0}
    refs = [ref for ref, _ in unique.values()]
    hyps = [hyp for _, hyp in unique.values()]
    return {"wer": jiwer.wer(refs, hyps), "cer": jiwer.cer(refs, hyps), "utterances": len(unique)}


def rates_by_group(rows: Iterable[tuple[str, str, str]], groups: Mapping[str, str]) -> dict[str, dict[str, float]]:
    """:func:`error_rates` per group (a test set, a corpus) of the rows whose id ``groups`` names, groups sorted."""
    grouped: dict[str, list[tuple[str, str, str]]] = {}
    for row in rows:
        if row[0] in groups:
            grouped.setdefault(groups[row[0]], []).append(row)
    return {name: error_rates(grouped[name]) for name in sorted(grouped)}
