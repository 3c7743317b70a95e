"""Text batches for the joint model: words, BIO tags and intents, with ASR-like word noise in training.

The noise stands in for recognition errors, which the NLU model reads at inference: each word of a
training sentence is, with probability ``word_noise``, replaced by another word of the training text
(a misrecognised syllable) or, outside entities, dropped (a deletion); seeded per (seed, epoch, utterance).
"""

from __future__ import annotations

from collections.abc import Sequence

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from vasr.slu.data import Example
from vasr.slu.model import IGNORE, batch_inputs
from vasr.slu.schema import OUTSIDE


class TaggedText(Dataset):
    """Examples as (words, tag ids, intent id), noised per epoch when ``word_noise`` > 0."""

    def __init__(
        self,
        examples: Sequence[Example],
        intents: Sequence[str],
        tags: Sequence[str],
        word_noise: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.examples = list(examples)
        self.intent_ids = {name: i for i, name in enumerate(intents)}
        self.tag_ids = {name: i for i, name in enumerate(tags)}
        self.word_noise, self.seed, self.epoch = word_noise, seed, 0
        self.pool = sorted({w for e in self.examples for w in e.words})

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> tuple[list[str], list[int], int]:
        example = self.examples[index]
        words, tags = list(example.words), list(example.tags)
        if self.word_noise:
            words, tags = self.noised(words, tags, np.random.default_rng([self.seed, self.epoch, index]))
        return words, [self.tag_ids[t] for t in tags], self.intent_ids[example.frame.intent]

    def noised(self, words: list[str], tags: list[str], rng: np.random.Generator) -> tuple[list[str], list[str]]:
        kept_words, kept_tags = [], []
        for word, tag in zip(words, tags, strict=True):
            if rng.random() < self.word_noise:
                if tag == OUTSIDE and rng.random() < 0.5 and len(words) > 1:
                    continue  # deleted
                word = self.pool[int(rng.integers(len(self.pool)))]  # misheard
            kept_words.append(word)
            kept_tags.append(tag)
        return kept_words, kept_tags


class TextCollator:
    """Pads a batch and puts each word's tag on its first sub-token (the others ignored)."""

    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer

    def __call__(self, rows: list[tuple[list[str], list[int], int]]) -> dict[str, torch.Tensor]:
        inputs, firsts = batch_inputs(self.tokenizer, [words for words, _, _ in rows])
        labels = torch.full(inputs["input_ids"].shape, IGNORE)
        for row, ((_, tags, _), positions) in enumerate(zip(rows, firsts, strict=True)):
            labels[row, positions] = torch.tensor(tags[: len(positions)], dtype=torch.long)
        return inputs | {"tag_labels": labels, "intent_labels": torch.tensor([intent for _, _, intent in rows])}


class NluDataModule(L.LightningDataModule):
    """Training text of the run's split; a new noise draw and order each epoch (validation: the module's)."""

    def __init__(
        self,
        train: Sequence[Example],
        tokenizer,
        intents: Sequence[str],
        tags: Sequence[str],
        batch_size: int = 32,
        word_noise: float = 0.0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.train_set = TaggedText(train, intents, tags, word_noise, seed)
        self.collate = TextCollator(tokenizer)
        self.batch_size, self.seed = batch_size, seed

    def train_dataloader(self) -> DataLoader:
        self.train_set.epoch = self.trainer.current_epoch if self.trainer else 0
        order = torch.Generator().manual_seed(self.seed * 1000 + self.train_set.epoch)
        return DataLoader(self.train_set, self.batch_size, shuffle=True, generator=order, collate_fn=self.collate)
