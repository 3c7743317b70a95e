"""Speech probabilities to sample bounds: hysteresis, padding, and WhisperX's cut & merge.

WhisperX (Bain et al., 2023, §3.1) cuts a speech run longer than the model's chunk at its
least-speech-like point and merges neighbouring runs up to the chunk, so that every piece fits
one forward pass. Bounds are ``[start, stop)`` samples at 16 kHz; frames are ``frame`` samples each.
"""

from __future__ import annotations

import numpy as np


def speech_runs(probs: np.ndarray, threshold: float, neg_threshold: float, min_silence: int) -> list[tuple[int, int]]:
    """``[first, last)`` frames of speech: a run opens at a frame ``>= threshold`` and closes where the
    probability fell below ``neg_threshold`` once it has stayed under ``threshold`` for ``min_silence`` frames
    (two thresholds, as silero-vad's own reader does, so a wavering probability does not chop a word)."""
    runs: list[tuple[int, int]] = []
    start = quiet_since = None
    for index, prob in enumerate(probs.tolist()):
        if start is None:
            if prob >= threshold:
                start = index
            continue
        if prob >= threshold:
            quiet_since = None
        elif prob < neg_threshold and quiet_since is None:
            quiet_since = index
        if quiet_since is not None and index - quiet_since + 1 >= min_silence:
            runs.append((start, quiet_since))
            start = quiet_since = None
    if start is not None:
        runs.append((start, len(probs) if quiet_since is None else quiet_since))
    return runs


def padded(runs: list[tuple[int, int]], frame: int, pad: int, samples: int) -> list[tuple[int, int]]:
    """Frame runs as samples, ``pad`` samples wider on each side (the model hears a word's onset and fade),
    inside ``[0, samples)``; a gap narrower than two pads is split at its middle, so bounds never overlap."""
    bounds = [(max(0, a * frame - pad), min(samples, b * frame + pad)) for a, b in runs]
    for index in range(1, len(bounds)):
        (a, b), (c, d) = bounds[index - 1], bounds[index]
        if b > c:
            middle = (runs[index - 1][1] + runs[index][0]) * frame // 2
            bounds[index - 1], bounds[index] = (a, middle), (middle, d)
    return [(a, b) for a, b in bounds if b > a]


def gaps_kept(bounds: list[tuple[int, int]], samples: int) -> list[tuple[int, int]]:
    """The same cuts, each gap split at its middle between its neighbours and the ends given to the first and
    last, so the bounds cover the whole file (a VAD miss is still read)."""
    if not bounds:
        return []
    cuts = [(b + c) // 2 for (_, b), (c, _) in zip(bounds, bounds[1:], strict=False)]
    edges = [0, *cuts, samples]
    return list(zip(edges, edges[1:], strict=False))


def cut_long(bounds: list[tuple[int, int]], probs: np.ndarray, frame: int, longest: int) -> list[tuple[int, int]]:
    """Each stretch longer than ``longest`` samples cut at its least-speech-like frame in the second half of
    its first ``longest`` samples, again and again until every piece fits (each piece but a stretch's last is
    at least half of ``longest``)."""
    if longest < 4 * frame:
        raise ValueError(f"longest ({longest} samples) must be at least 4 frames ({4 * frame})")
    found = []
    for start, stop in bounds:
        while stop - start > longest:
            first, last = -(-(start + longest // 2) // frame), (start + longest) // frame
            cut = (first + int(np.argmin(probs[first:last]))) * frame
            found.append((start, cut))
            start = cut
        found.append((start, stop))
    return found


def merged(bounds: list[tuple[int, int]], longest: int) -> list[tuple[int, int]]:
    """Neighbours joined, gap and all, while the joined stretch stays within ``longest`` samples."""
    found: list[tuple[int, int]] = []
    for start, stop in bounds:
        if found and stop - found[-1][0] <= longest:
            found[-1] = (found[-1][0], stop)
        else:
            found.append((start, stop))
    return found
