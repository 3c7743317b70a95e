"""A map-style dataset that reads each utterance from disk when asked (never the corpus in RAM)."""

from __future__ import annotations

from collections.abc import Sequence

from torch.utils.data import Dataset
from transformers import Wav2Vec2CTCTokenizer

from vasr.data.audio import SAMPLE_RATE, load_audio, standardize
from vasr.data.collate import Example
from vasr.data.manifest import Item


class SpeechDataset(Dataset[Example]):
    """Items from a validated manifest; audio read with soundfile, mono, 16 kHz, standardised."""

    def __init__(self, items: Sequence[Item], tokenizer: Wav2Vec2CTCTokenizer, sample_rate: int = SAMPLE_RATE) -> None:
        self.items = list(items)
        self.tokenizer = tokenizer
        self.sample_rate = sample_rate

    def __len__(self) -> int:
        return len(self.items)

    @property
    def durations(self) -> list[float]:
        return [item.duration for item in self.items]

    def __getitem__(self, index: int) -> Example:
        item = self.items[index]
        audio = standardize(load_audio(item.path, self.sample_rate))
        return Example(item.id, audio, self.tokenizer(item.text).input_ids, item.text)
