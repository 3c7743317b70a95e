"""The LightningDataModule: validated splits in, length-bucketed streaming DataLoaders out."""

from __future__ import annotations

from collections.abc import Callable

import lightning as L
from torch.utils.data import DataLoader
from transformers import Wav2Vec2CTCTokenizer

from vasr.data.collate import CTCCollator
from vasr.data.dataset import SpeechDataset
from vasr.data.manifest import Item
from vasr.data.sampler import BucketBatchSampler


class ResumableLoader(DataLoader):
    """A DataLoader Lightning saves in checkpoints (it has ``state_dict``), so a run restored
    mid-epoch continues with the batches it had not yet trained on instead of restarting the epoch."""

    def __init__(self, *args, progress: Callable[[], int], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.progress = progress

    def state_dict(self) -> dict:
        return {"epoch": self.batch_sampler.epoch, "batches_done": self.progress()}

    def load_state_dict(self, state: dict) -> None:
        self.batch_sampler.resume(state["epoch"], state["batches_done"])


class SpeechDataModule(L.LightningDataModule):
    """Reads audio per item in DataLoader workers; batches by duration; DDP rank-aware."""

    def __init__(
        self,
        splits: dict[str, list[Item]],
        tokenizer: Wav2Vec2CTCTokenizer,
        batch_size: int | None = 16,
        max_seconds: float | None = None,
        eval_batch_size: int | None = 16,
        num_workers: int = 0,
        seed: int = 0,
        return_attention_mask: bool = True,
        sortagrad_epochs: int = 0,
    ) -> None:
        super().__init__()
        self.datasets = {name: SpeechDataset(items, tokenizer) for name, items in splits.items()}
        self.batch_size = batch_size
        self.max_seconds = max_seconds
        self.eval_batch_size = eval_batch_size
        self.num_workers = num_workers
        self.seed = seed
        self.sortagrad_epochs = sortagrad_epochs
        self.collate = CTCCollator(return_attention_mask)

    def _batches_done(self) -> int:
        """Training batches of the current epoch already trained on (the one in flight included)."""
        return self.trainer.fit_loop.epoch_loop.batch_progress.current.processed

    def _loader(self, name: str, train: bool) -> DataLoader:
        dataset = self.datasets[name]
        rank, world = (self.trainer.global_rank, self.trainer.world_size) if self.trainer else (0, 1)
        sampler = BucketBatchSampler(
            dataset.durations,
            batch_size=self.batch_size if train else self.eval_batch_size,
            max_seconds=self.max_seconds if train or self.eval_batch_size is None else None,
            shuffle=train,
            seed=self.seed,
            rank=rank,
            world_size=world,
            sortagrad_epochs=self.sortagrad_epochs if train else 0,
        )
        options = {
            "batch_sampler": sampler,
            "collate_fn": self.collate,
            "num_workers": self.num_workers,
            "persistent_workers": self.num_workers > 0,
        }
        if train:
            return ResumableLoader(dataset, progress=self._batches_done, **options)
        return DataLoader(dataset, **options)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", train=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", train=False)
