"""The LightningDataModule: validated splits in, length-bucketed streaming DataLoaders out."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import lightning as L
from torch.utils.data import DataLoader
from transformers import Wav2Vec2CTCTokenizer

from vasr.audio import SAMPLE_RATE
from vasr.augment.pipeline import Augmentation
from vasr.data.collate import CTCCollator
from vasr.data.dataset import SpeechDataset
from vasr.data.features import AudioFeatures, Waveform
from vasr.data.index import Item, UtteranceIndex, values
from vasr.data.mix import CorpusMix
from vasr.data.sampler import BucketBatchSampler
from vasr.data.shard_sampler import ShardBatchSampler, ShardDataset
from vasr.data.shards import is_sharded

log = logging.getLogger("vasr")


@dataclass(frozen=True)
class SplitFingerprint:
    """What identifies a training split in a checkpoint: its size, hours and a hash of its ids and durations."""

    utterances: int
    hours: float
    sha256: str

    @classmethod
    def of(cls, items: Sequence[Item]) -> SplitFingerprint:
        """One pass over the ids and durations, no :class:`Item` made (a sort of N short strings, hashed one by one
        rather than joined: the hash of the lines joined by line breaks)."""
        items = UtteranceIndex.of(items)
        pairs = zip(items.column("id"), values(items.durations), strict=True)
        digest = hashlib.sha256()
        for number, line in enumerate(sorted(f"{uid}\t{duration:.3f}" for uid, duration in pairs)):
            digest.update((f"\n{line}" if number else line).encode())
        return cls(len(items), round(sum(values(items.durations)) / 3600, 4), digest.hexdigest()[:16])

    def __str__(self) -> str:
        return f"{self.utterances} utterances, {self.hours:.2f} h (hash {self.sha256})"

    def check_resume(self, checkpoint: str, state: dict, force: bool) -> None:
        """Refuse to resume from a checkpoint (``state``, loaded from ``checkpoint``) trained on another split: its
        place in the epoch would mean other utterances. ``force`` resumes anyway, saying so."""
        saved = state.get(SpeechDataModule.__qualname__, {}).get("train_split")
        if saved is None or SplitFingerprint(**saved) == self:
            return
        difference = f"the checkpoint trained on {SplitFingerprint(**saved)}, this run's training split is {self}"
        if not force:
            raise ValueError(
                f"{checkpoint}: {difference}. The data changed since the checkpoint: restore it, or resume anyway "
                "with resume_changed_split=true"
            )
        log.warning("resuming although %s (resume_changed_split=true)", difference)


class SpeechDataModule(L.LightningDataModule):
    """Reads audio per item in DataLoader workers; batches by duration; DDP rank-aware.

    Training batches hold ``batch_size`` utterances or ``max_seconds`` of padded audio (give one).
    ``augmentation`` (``conf/augment``) transforms training audio only, in the loader workers.
    ``features`` (the model family's; None: standardised waveform) makes the model's input of the waveforms
    there too, after augmentation. A ``mix`` (several corpora) decides which training utterances each epoch
    draws (:mod:`vasr.data.mix`); validation takes every utterance once, whatever its corpus. The test split is
    not read here: :func:`vasr.recipe.evaluation.score_test` scores it after training.

    Its checkpointed state is the training sampler's (epoch and batches trained on), so a run
    restored mid-epoch trains on exactly the batches an uninterrupted run would have.

    A training split in shards (``data.shards``, :mod:`vasr.data.shards`) is read shard by shard, batched within a
    ``shuffle_buffer`` of utterances (:mod:`vasr.data.shard_sampler`).
    """

    def __init__(
        self,
        splits: dict[str, Sequence[Item]],
        tokenizer: Wav2Vec2CTCTokenizer,
        batch_size: int | None = None,
        max_seconds: float | None = None,
        pad_to_seconds: float = 0.125,
        eval_batch_size: int | None = 16,
        num_workers: int = 0,
        pin_memory: bool = False,
        prefetch_factor: int | None = None,
        seed: int = 0,
        features: AudioFeatures | None = None,
        sortagrad_epochs: int = 0,
        augmentation: Augmentation | None = None,
        resume_changed_split: bool = False,
        mix: CorpusMix | None = None,
        shuffle_buffer: int = 2000,
    ) -> None:
        super().__init__()
        self.mix = mix
        if mix is not None:
            shares = mix.shares(UtteranceIndex.of(splits["train"]).durations)
            log.info(
                "corpus mix, shares of an epoch's seconds: %s", ", ".join(f"{k} {v:.1%}" for k, v in shares.items())
            )
        self.resume_changed_split = resume_changed_split
        self.split_fingerprint = SplitFingerprint.of(splits.get("train", []))
        self.datasets = {
            name: (ShardDataset if name == "train" and is_sharded(items) else SpeechDataset)(
                items, tokenizer, augmentation=augmentation if name == "train" else None, seed=seed
            )
            for name, items in splits.items()
            if name in ("train", "val")
        }
        self.shuffle_buffer = shuffle_buffer
        self.augmentation = augmentation
        if augmentation is not None:
            log.info("augmenting training audio: %s", augmentation)
        self.batch_size = batch_size
        self.max_seconds = max_seconds
        self.pad_to_seconds = pad_to_seconds
        self.eval_batch_size = eval_batch_size
        self.loader_options = {
            "num_workers": num_workers,
            "persistent_workers": num_workers > 0,
            "pin_memory": pin_memory,
            "prefetch_factor": prefetch_factor if num_workers > 0 else None,
        }
        self.seed = seed
        self.sortagrad_epochs = sortagrad_epochs
        self.features = features or Waveform()
        self._train_sampler: BucketBatchSampler | None = None
        self._pending_state: dict | None = None

    @property
    def _rank_and_world(self) -> tuple[int, int]:
        """This process's DDP rank and the number of ranks (0 of 1 outside a Trainer)."""
        return (self.trainer.global_rank, self.trainer.world_size) if self.trainer else (0, 1)

    @property
    def train_sampler(self) -> BucketBatchSampler:
        """Made once per DataModule, for this process's DDP rank, so it carries its epoch across epochs."""
        if self._train_sampler is None:
            rank, world = self._rank_and_world
            train = self.datasets["train"]
            sharded = isinstance(train, ShardDataset)
            workers = self.loader_options["num_workers"]
            shards = {"layout": train.layout, "buffer": self.shuffle_buffer, "workers": workers} if sharded else {}
            self._train_sampler = (ShardBatchSampler if sharded else BucketBatchSampler)(
                train.durations,
                **shards,
                batch_size=self.batch_size,
                max_seconds=self.max_seconds,
                pad_to=self.pad_to_seconds,
                seed=self.seed,
                rank=rank,
                world_size=world,
                sortagrad_epochs=self.sortagrad_epochs,
                epoch_speeds=self._epoch_speeds if self.augmentation is not None else None,
                mix=self.mix,
            )
            if self._pending_state is not None:
                self._train_sampler.load_state_dict(self._pending_state)
        return self._train_sampler

    def setup(self, stage: str) -> None:
        varying = self.augmentation is not None and len(set(self.augmentation.speeds)) > 1
        if stage == "fit" and varying and self.trainer and self.trainer.reload_dataloaders_every_n_epochs != 1:
            raise ValueError(
                "speed perturbation changes the number of training batches from epoch to epoch, so the Trainer "
                "must re-read it every epoch: reload_dataloaders_every_n_epochs=1 (conf/trainer sets it)"
            )

    def _epoch_speeds(self, epoch: int, copy: int = 0):
        return self.augmentation.epoch_speeds(self.seed, epoch, len(self.datasets["train"]), copy)

    def train_dataloader(self) -> DataLoader:
        pad_to = round(self.pad_to_seconds * SAMPLE_RATE)
        return DataLoader(
            self.datasets["train"],
            batch_sampler=self.train_sampler,
            collate_fn=CTCCollator(self.features, pad_to),
            **self.loader_options,
        )

    def val_dataloader(self) -> DataLoader:
        dataset = self.datasets["val"]
        rank, world = self._rank_and_world
        sampler = BucketBatchSampler(
            dataset.durations,
            batch_size=self.eval_batch_size,
            max_seconds=None if self.eval_batch_size else self.max_seconds,
            pad_to=self.pad_to_seconds,
            shuffle=False,
            rank=rank,
            world_size=world,
        )
        collate = CTCCollator(self.features)  # exact lengths: scores do not depend on padding
        return DataLoader(dataset, batch_sampler=sampler, collate_fn=collate, **self.loader_options)

    def on_before_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """Counts training batches as the training loop takes them (prefetched ones are not yet trained on)."""
        if self.trainer is not None and self.trainer.training:
            self.train_sampler.mark_trained()
        return batch

    def state_dict(self) -> dict[str, Any]:
        if "train" not in self.datasets:
            return {}
        return {"train_sampler": self.train_sampler.state_dict(), "train_split": asdict(self.split_fingerprint)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """The sampler's place in its epoch; with ``resume_changed_split`` (checked before: :class:`SplitFingerprint`)
        that place is kept in a split of another size."""
        self._pending_state = state_dict.get("train_sampler")
        if self.resume_changed_split and self._pending_state is not None:
            mix = self.mix.settings if self.mix is not None else None
            self._pending_state = self._pending_state | {"utterances": len(self.datasets["train"]), "mix": mix}
        if self._train_sampler is not None and self._pending_state is not None:
            self._train_sampler.load_state_dict(self._pending_state)
