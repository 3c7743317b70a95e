"""Offline Vietnamese speech from eSpeak NG (the ``espeakng-loader`` wheel) through ctypes.

libespeak-ng is one global instance per process, and rate/pitch persist across voice
changes, so every call sets every parameter. Use one :class:`Espeak` per process.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from pathlib import Path

import espeakng_loader
import numpy as np
import soxr

from vasr.audio import SAMPLE_RATE

VOICES = ("vi", "vi-VN-x-south", "vi-VN-x-central")
# Variants whose output changed between processes for the same input (4 corpora of 1,000
# utterances compared; all other variants were byte-stable), so a seed could not fix them.
UNSTABLE_VARIANTS = frozenset({"Alicia", "Demonic", "f2", "f3", "f5", "sandro", "victor", "whisper", "whisperf"})
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_RATE, _VOLUME, _PITCH, _RANGE = 1, 2, 3, 4
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


@dataclass(frozen=True)
class Speaker:
    """One draw of speaker variety: voice, variant, speed and pitch."""

    voice: str = "vi"
    variant: str = ""
    rate: int = 160  # words per minute
    pitch: int = 50  # 0-100
    pitch_range: int = 50  # 0-100


def variants() -> list[str]:
    """eSpeak NG's reproducible voice variants (pitch/formant presets such as ``m3`` or ``Annie``)."""
    folder = Path(espeakng_loader.get_data_path()) / "voices" / "!v"
    return sorted(p.name for p in folder.iterdir() if p.name not in UNSTABLE_VARIANTS)


class Espeak:
    """Synthesises text to float32 audio at a requested sample rate."""

    def __init__(self) -> None:
        self._lib = ctypes.CDLL(espeakng_loader.get_library_path())
        data = espeakng_loader.get_data_path().encode()
        self.native_rate = self._lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data, 0)
        if self.native_rate <= 0:
            raise RuntimeError(f"eSpeak NG failed to initialise with data at {data.decode()}")
        self._chunks: list[np.ndarray] = []
        self._callback = _CALLBACK(self._collect)  # kept referenced: C holds the pointer
        self._lib.espeak_SetSynthCallback(self._callback)
        self._lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]

    def _collect(self, wav, count: int, _events) -> int:
        if wav and count > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        return 0

    def synthesize(self, text: str, speaker: Speaker, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
        """Speech for ``text`` in [-1, 1], resampled with soxr to ``sample_rate``."""
        name = speaker.voice + (f"+{speaker.variant}" if speaker.variant else "")
        if self._lib.espeak_SetVoiceByName(name.encode()) != 0:
            raise ValueError(f"eSpeak NG has no voice {name!r}")
        for parameter, value in (
            (_RATE, speaker.rate),
            (_PITCH, speaker.pitch),
            (_RANGE, speaker.pitch_range),
        ):
            self._lib.espeak_SetParameter(parameter, value, 0)
        self._lib.espeak_SetParameter(_VOLUME, 100, 0)
        self._chunks = []
        encoded = text.encode("utf-8") + b"\0"
        status = self._lib.espeak_Synth(encoded, len(encoded), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if status != 0:
            raise RuntimeError(f"eSpeak NG failed (status {status}) on {text!r}")
        audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        audio = audio.astype(np.float32) / 32768.0
        if sample_rate != self.native_rate:
            audio = soxr.resample(audio, self.native_rate, sample_rate).astype(np.float32)
        return audio
