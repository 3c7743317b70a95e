"""Fitting shallow fusion: the LM weight and word bonus chosen by WER on held-out log-probabilities.

As NeMo's ``eval_beamsearch_ngram_ctc.py`` does, the search runs over log-probabilities saved once,
so the network is never run again per grid point.
"""

from __future__ import annotations

import logging
from itertools import product

import torch

from vasr.decoding.beam import BeamDecoder
from vasr.decoding.metrics import error_rates

log = logging.getLogger("vasr")


def tune(
    base: BeamDecoder,
    log_probs: list[torch.Tensor],
    references: list[str],
    alphas: list[float],
    betas: list[float],
) -> tuple[BeamDecoder, list[dict]]:
    """Grid search of (alpha, beta) for ``base``'s LM by WER on held-out utterances; the best decoder and
    every point's WER/CER. A single point is applied without decoding."""
    if len(alphas) * len(betas) == 1:
        return base.with_settings(alpha=alphas[0], beta=betas[0]), []
    rows, best = [], None
    ids = [str(i) for i in range(len(references))]
    for alpha, beta in product(alphas, betas):
        decoder = base.with_settings(alpha=alpha, beta=beta)
        rates = error_rates(zip(ids, references, decoder.decode(log_probs), strict=True))
        rows.append({"alpha": alpha, "beta": beta, "wer": rates["wer"], "cer": rates["cer"]})
        log.info("LM weights alpha %.2f beta %.2f: WER %.2f%%", alpha, beta, 100 * rates["wer"])
        if best is None or rates["wer"] < best[0]:
            best = (rates["wer"], decoder)
    if best is None:
        raise ValueError("empty grid of LM weights")
    return best[1], rows
