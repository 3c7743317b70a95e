"""Silero VAD's speech probabilities, 32 ms a frame, from its ONNX model run by onnxruntime.

The model is the ``silero_vad_16k_sequence.onnx`` file inside the ``silero-vad`` wheel, found with
:func:`importlib.metadata.distribution` and never imported: ``pip install silero-vad`` needs only
``torch>=1.12`` and ``packaging`` (torchaudio is behind its ``audio`` extra, which vasr does not ask for, so
the user's torch stays), but *importing* ``silero_vad`` imports torch and calls ``torch.set_num_threads(1)``
for the whole process, which would slow the acoustic model beside it. Its own readers also want the
whole waveform in memory; this one streams. The sequence model runs the stock model's computation
(STFT, encoder, LSTM) over a block of frames in one call, the LSTM's ``h``/``c`` state and each frame's
64 samples of context carried across calls (silero-vad's ``sequence_vad.py`` says its probabilities are
bit-exact against the frame-by-frame model), so one call per ~16 s of audio instead of one per 32 ms.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vasr.audio import SAMPLE_RATE, Recording
from vasr.infer.cut_merge import cut_long, gaps_kept, merged, padded, speech_runs

FRAME = 512  # samples a probability covers at 16 kHz (32 ms)
CONTEXT = 64  # samples of the previous frame the model sees before each frame
MODEL_FILE = "silero_vad/data/silero_vad_16k_sequence.onnx"
STATE_SHAPE = (1, 1, 128)


class SileroUnavailableError(ImportError):
    """onnxruntime or silero-vad's model file cannot be had: ``pip install 'vasr[vad]'``."""


def model_file() -> tuple[Path, str]:
    """The sequence ONNX model in the installed silero-vad wheel and that wheel's version."""
    try:
        distribution = importlib.metadata.distribution("silero-vad")
    except importlib.metadata.PackageNotFoundError as error:
        raise SileroUnavailableError("silero-vad is not installed (pip install 'vasr[vad]')") from error
    path = Path(str(distribution.locate_file(MODEL_FILE)))
    if not path.is_file():
        raise SileroUnavailableError(f"silero-vad {distribution.version} has no {MODEL_FILE}")
    return path, distribution.version


class SileroModel:
    """Per-frame speech probabilities of a recording, read ``block_frames`` frames (~16 s) at a time.

    One onnxruntime thread: the LSTM runs frame after frame, and the acoustic model needs the cores.
    """

    def __init__(self, block_frames: int = 512) -> None:
        try:
            import onnxruntime
        except ImportError as error:
            raise SileroUnavailableError(f"onnxruntime is not importable ({error}): pip install 'vasr[vad]'") from error
        path, self.version = model_file()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.block_frames = block_frames

    def probabilities(self, audio: Recording) -> np.ndarray:
        """Speech probability of each 512 samples of ``audio`` (the last frame zero-padded), in order."""
        hidden = cell = np.zeros(STATE_SHAPE, np.float32)
        context = np.zeros(CONTEXT, np.float32)
        block = self.block_frames * FRAME
        found = []
        for start in range(0, audio.samples, block):
            samples = audio.read(start, min(start + block, audio.samples))
            frames = np.zeros((-(-len(samples) // FRAME), FRAME), np.float32)
            frames.reshape(-1)[: len(samples)] = samples
            contexts = np.concatenate([context[None], frames[:-1, -CONTEXT:]])
            values, hidden, cell = self.session.run(
                ["speech_probs", "hn", "cn"],
                {"input": np.concatenate([contexts, frames], axis=1), "h": hidden, "c": cell},
            )
            context = frames[-1, -CONTEXT:]
            found.append(np.asarray(values, np.float32).reshape(-1))
        return np.concatenate(found) if found else np.zeros(0, np.float32)


@dataclass(frozen=True)
class SileroSettings:
    """How probabilities become stretches, in seconds; the defaults are silero-vad's own, which had the lowest WER
    in ``bench/vad.py`` (wider padding and shorter minimum speech missed less speech but read more noise: worse),
    and no merging (merged stretches raised WER: the model was fine-tuned on single utterances).
    ``neg_threshold`` None: ``threshold - 0.15``, as
    silero-vad's reader does. ``max_seconds``: no stretch longer (cut at its least-speech-like frame);
    ``merge_seconds``: neighbours joined up to this length (0: none). ``keep_gaps``: the non-speech between
    stretches is given to its neighbours instead of dropped."""

    threshold: float = 0.5
    neg_threshold: float | None = None
    min_speech_seconds: float = 0.25
    min_silence_seconds: float = 0.1
    pad_seconds: float = 0.03
    max_seconds: float = 20.0
    merge_seconds: float = 0.0
    keep_gaps: bool = False

    def __post_init__(self) -> None:
        if not 0 < self.threshold < 1:
            raise ValueError(f"threshold {self.threshold} must be in (0, 1)")
        if self.max_seconds * SAMPLE_RATE < 4 * FRAME:
            raise ValueError(f"max_seconds {self.max_seconds} must be at least 4 frames ({4 * FRAME / SAMPLE_RATE} s)")
        if not 0 <= self.merge_seconds <= self.max_seconds:
            raise ValueError(f"merge_seconds {self.merge_seconds} must be in [0, max_seconds={self.max_seconds}]")

    @property
    def description(self) -> str:
        merging = f"merged up to {self.merge_seconds:g} s" if self.merge_seconds else "not merged"
        gaps = "gaps kept" if self.keep_gaps else "gaps dropped"
        return (
            f"threshold {self.threshold:g}, min speech {self.min_speech_seconds:g} s, min silence "
            f"{self.min_silence_seconds:g} s, padding {self.pad_seconds:g} s, cut at {self.max_seconds:g} s, "
            f"{merging}, {gaps}"
        )


class SileroSegmenter:
    """Speech stretches of a recording by silero-vad: probabilities, hysteresis, padding, cut & merge."""

    def __init__(self, settings: SileroSettings | None = None, model: SileroModel | None = None) -> None:
        self.settings = settings or SileroSettings()
        self.model = model or SileroModel()
        self.description = f"silero-vad {self.model.version} on onnxruntime ({self.settings.description})"

    def __call__(self, audio: Recording) -> list[tuple[int, int]]:
        return self.segments(self.model.probabilities(audio), audio.samples)

    def segments(self, probs: np.ndarray, samples: int) -> list[tuple[int, int]]:
        """The stretches of a file of ``samples`` samples whose frames have speech probabilities ``probs``."""
        s = self.settings
        neg = max(s.threshold - 0.15, 0.01) if s.neg_threshold is None else s.neg_threshold
        runs = speech_runs(probs, s.threshold, neg, round(s.min_silence_seconds * SAMPLE_RATE / FRAME))
        runs = [(a, b) for a, b in runs if (b - a) * FRAME >= s.min_speech_seconds * SAMPLE_RATE]
        bounds = padded(runs, FRAME, round(s.pad_seconds * SAMPLE_RATE), samples)
        if s.keep_gaps:
            bounds = gaps_kept(bounds, samples)
        bounds = cut_long(bounds, probs, FRAME, round(s.max_seconds * SAMPLE_RATE))
        return merged(bounds, round(s.merge_seconds * SAMPLE_RATE))
