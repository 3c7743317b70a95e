"""A map-style dataset that reads each utterance from disk when asked (never the corpus in RAM)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from torch.utils.data import Dataset
from transformers import Wav2Vec2CTCTokenizer

from vasr.audio import SAMPLE_RATE, load_audio
from vasr.augment.pipeline import Augmentation, SampleKey, perturbed_samples
from vasr.data.collate import Example
from vasr.data.index import Item, UtteranceIndex


class SpeechDataset(Dataset[Example]):
    """Items from a validated manifest; audio read with soundfile, mono, 16 kHz (the collator makes the model's
    input of it: standardised waveform or filter banks, as the model's family says).

    Indexed by :class:`SampleKey` (the training sampler's, with an ``augmentation``), an item is
    augmented as that key's epoch and speed say; indexed by position (evaluation), never.
    """

    def __init__(
        self,
        items: Sequence[Item],
        tokenizer: Wav2Vec2CTCTokenizer,
        sample_rate: int = SAMPLE_RATE,
        augmentation: Augmentation | None = None,
        seed: int = 0,
    ) -> None:
        self.items = UtteranceIndex.of(
            items
        )  # arrays, not objects: workers share them without copying (pytorch/pytorch#13246)
        self.tokenizer = tokenizer
        self.sample_rate = sample_rate
        self.augmentation = augmentation
        self.seed = seed
        if augmentation is not None:
            augmentation.bind(self.items.column("path"), seed)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def durations(self) -> np.ndarray:
        return self.items.durations

    def __getitem__(self, key: int | SampleKey) -> Example:
        item = self.items[key.index if isinstance(key, SampleKey) else key]
        return self.example(item, key, load_audio(item.path, self.sample_rate))

    def example(self, item: Item, key: int | SampleKey, audio: np.ndarray) -> Example:
        """``item`` with its ``audio`` (read from a file or a shard) augmented as ``key`` says, and labelled."""
        if isinstance(key, SampleKey) and self.augmentation is not None:
            audio = self.augmentation(audio, self.seed, key, perturbed_samples(item.duration, key.speed))
        return Example(item.id, audio, self.tokenizer(item.text).input_ids, item.text)
