"""Folders of noise recordings or room impulse responses: scanned once, read in segments in the workers."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from vasr.audio import SAMPLE_RATE, to_mono, wav_declared_frames

log = logging.getLogger("vasr")
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")


@dataclass(frozen=True)
class AudioFile:
    """One usable file of a folder: where it is and what its header says."""

    path: str
    frames: int
    rate: int
    channels: int

    @property
    def seconds(self) -> float:
        return self.frames / self.rate


def scan_folder(folder: str | Path, kind: str) -> list[AudioFile]:
    """Every readable audio file under ``folder`` (recursively); each unreadable one is named once and left out.

    Only headers are read (a truncated WAV is caught by its header's promise), so MUSAN-sized
    folders scan in seconds. No usable file at all is an error that names the folder.
    """
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"{kind} folder {root} does not exist")
    found: list[AudioFile] = []
    for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES):
        try:
            info = sf.info(str(path))
            declared = wav_declared_frames(path)
            if info.frames <= 0 or info.samplerate <= 0:
                raise ValueError("no audio frames")
            if declared is not None and declared > info.frames:
                raise ValueError(f"truncated: the header promises {declared} frames, the file holds {info.frames}")
        except (sf.LibsndfileError, RuntimeError, ValueError, OSError) as error:
            log.warning("augmentation: skipped unreadable %s file %s (%s)", kind, path, error)
            continue
        found.append(AudioFile(str(path), info.frames, info.samplerate, info.channels))
    if not found:
        raise ValueError(f"{kind} folder {root} holds no readable audio file ({', '.join(AUDIO_SUFFIXES)})")
    log.info("augmentation: %d %s files (%.1f h) in %s", len(found), kind, sum(f.seconds for f in found) / 3600, root)
    return found


def read_segment(file: AudioFile, start: int, frames: int, first_channel: bool = False) -> np.ndarray:
    """``frames`` frames of ``file`` from ``start`` (at its own rate) as 16 kHz mono float32.

    Noise is averaged over channels; an impulse response keeps its first channel (averaging the
    microphones of a multi-channel response would smear it).
    """
    audio, rate = sf.read(file.path, start=start, frames=frames, dtype="float32", always_2d=True)
    if first_channel:
        audio = audio[:, :1]
    return to_mono(audio, rate, SAMPLE_RATE)
