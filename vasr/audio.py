"""Audio I/O with soundfile and soxr: headers for durations, per-item reads for batches."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import struct
import tarfile
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf
import soxr

SAMPLE_RATE = 16000


# ``SHARD.tar#KEY@OFFSET`` names the audio member ``KEY.<ext>`` of a WebDataset-layout shard, its tar header at byte
# OFFSET (vasr.data.shards).
MEMBER_MARK = ".tar#"


def split_member(path: str) -> tuple[str, str, int]:
    """(shard, key, header offset) of a member's path ``SHARD.tar#KEY@OFFSET``."""
    name, _, found = path.rpartition("#")
    key, _, offset = found.partition("@")
    return name, key, int(offset or 0)


def member(path: str | Path) -> tuple[str, str, int] | None:
    """:func:`split_member` of ``path`` when it names a shard's member rather than a file; None for a file."""
    name = str(path)
    return split_member(name) if MEMBER_MARK in name and not os.path.exists(name) else None


def audio_file(path: str | Path) -> Path:
    """The file that holds ``path``'s audio: a member's shard, or the file itself."""
    found = member(path)
    return Path(found[0] if found else path)


def load_audio(path: str | Path, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Mono float32 audio at ``sample_rate``: channels averaged, resampled with soxr when needed. A shard member's
    path (``SHARD.tar#KEY@OFFSET``) is read from its shard at that offset (babble's talkers; training reads shards
    in order, :mod:`vasr.data.shards`)."""
    found = member(path)
    if found is not None:
        return decode_audio(shard_member(*found), sample_rate)
    audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return to_mono(audio, rate, sample_rate)


def decode_audio(data: bytes, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """An audio file's bytes (WAV, FLAC, MP3...) as :func:`load_audio` reads the file."""
    decoded = pcm16_wav(data)
    audio, rate = decoded or sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    return to_mono(audio, rate, sample_rate)


def pcm16_wav(data: bytes) -> tuple[np.ndarray, int] | None:
    """(frames, channels) float32 samples and the rate of a 16-bit PCM WAV file's bytes, as soundfile reads them
    (x / 32768), by numpy alone: soundfile reads bytes through a Python callback per block, slower than the file
    itself (docs/data.md). None for any other audio."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    offset, layout = 12, None
    while offset + 8 <= len(data):
        chunk, size = data[offset : offset + 4], struct.unpack_from("<I", data, offset + 4)[0]
        body = offset + 8
        if chunk == b"fmt " and size >= 16:
            tag, channels, rate = struct.unpack_from("<HHI", data, body)
            if tag != 1 or struct.unpack_from("<H", data, body + 14)[0] != 16 or not channels:
                return None  # not plain 16-bit PCM (float, 24-bit, extensible): soundfile reads it
            layout = channels, rate
        elif chunk == b"data" and layout is not None:
            channels, rate = layout
            frames = (min(body + size, len(data)) - body) // (2 * channels)
            samples = np.frombuffer(data, dtype="<i2", count=frames * channels, offset=body)
            return (samples.astype(np.float32) / 32768).reshape(frames, channels), rate
        offset = body + size + (size & 1)
    return None


def shard_member(shard: str | Path, key: str, offset: int = 0) -> bytes:
    """The bytes of the audio member ``key.<ext>`` of a tar shard (its ``.json`` beside it is not audio), looked for
    from the header at byte ``offset`` on (the index's, so at once)."""
    with open(shard, "rb") as file:
        file.seek(offset)
        with tarfile.open(fileobj=file, mode="r:") as tar:
            for info in tar:
                stem, _, ext = info.name.partition(".")
                if stem == key and ext != "json":
                    return tar.extractfile(info).read()
    raise FileNotFoundError(f"{shard}: no audio member {key!r}")


def to_mono(audio: np.ndarray, rate: int, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """(frames, channels) float32 audio at ``rate`` as mono at ``sample_rate``: channels averaged, soxr."""
    audio = audio.mean(axis=1)
    if rate != sample_rate:
        audio = soxr.resample(audio, rate, sample_rate).astype(np.float32)
    return audio


def standardize(audio: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance, as ``Wav2Vec2FeatureExtractor(do_normalize=True)`` does."""
    return (audio - audio.mean()) / np.sqrt(audio.var() + 1e-7)


def wav_declared_frames(source: str | Path | BinaryIO) -> int | None:
    """Frames a RIFF/WAVE header's ``data`` chunk promises, or None for other formats; ``source`` a file's path or
    an audio file's bytes as a binary stream (a shard member's).

    libsndfile quietly reads a cut-off WAV as a shorter one; comparing this with the frames it
    finds is how a truncated file is caught from the header alone.
    """
    opened = open(source, "rb") if isinstance(source, str | Path) else contextlib.nullcontext(source)  # noqa: SIM115
    with opened as handle:
        handle.seek(0)
        riff = handle.read(12)
        if riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":  # RF64 and other formats: trust libsndfile
            return None
        block_align = 0
        while len(header := handle.read(8)) == 8:
            chunk, size = header[:4], struct.unpack("<I", header[4:])[0]
            if chunk == b"data":
                return size // block_align if block_align else None
            body = handle.read(16) if chunk == b"fmt " else b""
            if len(body) == 16:
                block_align = struct.unpack("<H", body[12:14])[0]
            handle.seek(size + (size & 1) - len(body), 1)  # to the next chunk, reading no audio
    return None


class Recording:
    """A recording read one window at a time, resampled to 16 kHz mono."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError("no such file")
        info = sf.info(str(self.path))  # raises LibsndfileError for what is not audio
        if info.frames <= 0 or info.samplerate <= 0:
            raise ValueError("no audio in file")
        self.rate = info.samplerate
        self.duration = info.frames / info.samplerate
        self.samples = round(self.duration * SAMPLE_RATE)

    def read(self, start: int, stop: int) -> np.ndarray:
        """16 kHz samples ``[start, stop)``, read from the file's own rate."""
        first = int(start * self.rate / SAMPLE_RATE)
        last = int(np.ceil(stop * self.rate / SAMPLE_RATE))
        audio, _ = sf.read(str(self.path), start=first, stop=last, dtype="float32", always_2d=True)
        audio = to_mono(audio, self.rate)
        out = np.zeros(stop - start, np.float32)
        out[: min(len(audio), len(out))] = audio[: len(out)]
        return out


class DurationCache:
    """Durations read from file headers, remembered by (size, mtime) in a JSON file between runs."""

    def __init__(self, cache_file: str | Path | None = None) -> None:
        self.cache_file = Path(cache_file) if cache_file else None
        self._entries: dict[str, list] = {}
        if self.cache_file and self.cache_file.exists():
            try:
                self._entries = json.loads(self.cache_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self._entries = {}  # a damaged cache is rebuilt, never trusted
        self._new: dict[str, list] = {}

    @staticmethod
    def default_file(audio_dir: str | Path) -> Path:
        """One cache file per audio folder under ``$XDG_CACHE_HOME/vasr`` (the data folder may be read-only)."""
        root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "vasr"
        digest = hashlib.sha1(str(Path(audio_dir).resolve()).encode()).hexdigest()[:16]
        return root / f"durations-{digest}.json"

    def duration(self, path: Path) -> tuple[float, int, int, float]:
        """(seconds, sample rate, channels, seconds the header promises) from the header alone.

        Raises ``soundfile.LibsndfileError`` for a file that is not audio.
        """
        stat = audio_file(path).stat()  # a member's entry lasts as long as its shard is unchanged
        key = str(path)
        entry = self._entries.get(key)
        if entry and entry[0] == stat.st_size and entry[1] == stat.st_mtime_ns:
            return entry[2], entry[3], entry[4], entry[5]
        found = member(path)
        source = io.BytesIO(shard_member(*found)) if found else key
        info = sf.info(source)
        rate = info.samplerate or 1
        declared = wav_declared_frames(source)
        seconds, promised = info.frames / rate, (info.frames if declared is None else declared) / rate
        self._entries[key] = self._new[key] = [stat.st_size, stat.st_mtime_ns, seconds, info.samplerate,
                                               info.channels, promised]  # fmt: skip
        return seconds, info.samplerate, info.channels, promised

    def new_entries(self) -> dict[str, list]:
        """What was read since this cache was loaded (what a reading process hands back to its parent)."""
        return self._new

    def add(self, entries: dict[str, list]) -> None:
        """Remember ``entries`` another process read (its :meth:`new_entries`)."""
        self._entries |= entries
        self._new |= entries

    def save(self) -> None:
        """Write the cache if anything new was read; failures to write only cost the next run time."""
        if not (self.cache_file and self._new):
            return
        try:
            self.cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.cache_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(self._entries), encoding="utf-8")
            tmp.replace(self.cache_file)
            self._new = {}
        except OSError:
            pass
