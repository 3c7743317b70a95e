import contextlib

import lightning as L
import numpy as np

from tests.conftest import MICRO_ARCHITECTURE
from vasr.callbacks import StepCheckpoint
from vasr.data.datamodule import SpeechDataModule
from vasr.data.sampler import padded_seconds
from vasr.data.splits import load_splits, write_splits
from vasr.model.build import build_from_config
from vasr.model.module import CTCModule
from vasr.text.vocab import PAD, build_vocab, make_tokenizer, save_vocab


def test_split_is_seeded_disjoint_and_written(corpus, tmp_path):
    splits, _ = load_splits(corpus / "manifest.jsonl", corpus / "audio", val_ratio=0.25, test_ratio=0.25, seed=3)
    again, _ = load_splits(corpus / "manifest.jsonl", corpus / "audio", val_ratio=0.25, test_ratio=0.25, seed=3)
    ids = {name: [i.id for i in items] for name, items in splits.items()}
    assert ids == {name: [i.id for i in items] for name, items in again.items()}
    assert [len(v) for v in ids.values()] == [12, 6, 6]
    assert len(set(sum(ids.values(), []))) == 24
    write_splits(splits, tmp_path)
    written = (tmp_path / "val.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(written) == 6
    # A written split is itself a manifest the next run can take as data.val_manifest.
    given, _ = load_splits(corpus / "manifest.jsonl", corpus / "audio", val_manifest=tmp_path / "val.jsonl")
    assert [i.id for i in given["val"]] == ids["val"]


def test_batches_are_streamed_standardised_and_tokenised(corpus, tmp_path):
    splits, _ = load_splits(corpus / "manifest.jsonl", corpus / "audio", val_ratio=0.25, test_ratio=0.25)
    tokenizer = make_tokenizer(save_vocab(build_vocab("corpus", (i.text for i in splits["train"])), tmp_path))
    dm = SpeechDataModule(splits, tokenizer, batch_size=4, eval_batch_size=3, num_workers=0)
    batches = list(dm.train_dataloader())
    assert sum(len(b["ids"]) for b in batches) == 12
    batch = batches[0]
    row = batch["input_values"][0, : batch["input_lengths"][0]].numpy()
    assert abs(row.mean()) < 1e-3 and np.isclose(row.std(), 1.0, atol=1e-2)
    item = {i.id: i for i in splits["train"]}[batch["ids"][0]]
    labels = batch["labels"][0][batch["labels"][0] >= 0].tolist()
    assert tokenizer.decode(labels, group_tokens=False) == item.text
    assert sum(len(b["ids"]) for b in dm.val_dataloader()) == 6


class Crash(RuntimeError):
    """A run dying mid-epoch."""


class RecordBatches(L.Callback):
    """What Lightning hands the model: the utterance ids of each training batch, in order."""

    def __init__(self, stop_at: int | None = None) -> None:
        self.batches: list[tuple[int, tuple[str, ...]]] = []
        self.stop_at = stop_at

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        self.batches.append((trainer.current_epoch, tuple(batch["ids"])))

    def on_train_batch_end(self, trainer, *args) -> None:
        if trainer.global_step == self.stop_at:
            raise Crash  # StepCheckpoint.on_exception keeps last.ckpt, as after a kill -9


def fit_recording(corpus, tmp_path, sortagrad: int, stop_at=None, ckpt_path=None) -> list:
    splits, _ = load_splits(corpus / "manifest.jsonl", corpus / "audio", val_ratio=0.25, test_ratio=0.25)
    tokenizer = make_tokenizer(save_vocab(build_vocab("corpus", (i.text for i in splits["train"])), tmp_path))
    module = CTCModule(build_from_config(MICRO_ARCHITECTURE, tokenizer.get_vocab(), PAD), tokenizer)
    dm = SpeechDataModule(splits, tokenizer, batch_size=2, seed=5, sortagrad_epochs=sortagrad)
    record = RecordBatches(stop_at)
    trainer = L.Trainer(
        max_epochs=3,
        limit_val_batches=0,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        use_distributed_sampler=False,
        default_root_dir=tmp_path,
        callbacks=[StepCheckpoint(tmp_path / "ckpt", every_n_steps=1), record],
    )
    with contextlib.suppress(Crash):
        trainer.fit(module, dm, ckpt_path=ckpt_path)
    return record.batches


def test_each_epoch_a_new_order_sortagrad_first_only(corpus, tmp_path):
    batches = fit_recording(corpus, tmp_path, sortagrad=1)
    epochs = [[ids for epoch, ids in batches if epoch == e] for e in range(3)]
    assert all(len(e) == 6 for e in epochs) and len({tuple(e) for e in epochs}) == 3
    splits, _ = load_splits(corpus / "manifest.jsonl", corpus / "audio", val_ratio=0.25, test_ratio=0.25)
    durations = {i.id: i.duration for i in splits["train"]}
    longest = [[padded_seconds(max(durations[i] for i in ids), 0.25) for ids in e] for e in epochs]
    assert longest[0] == sorted(longest[0]) and longest[1] != sorted(longest[1]) != longest[2]
    for epoch in epochs:
        assert sorted(i for ids in epoch for i in ids) == sorted(durations)
    assert fit_recording(corpus, tmp_path / "again", sortagrad=1) == batches  # seeded


def test_resumed_mid_epoch_trains_exactly_the_uninterrupted_batches(corpus, tmp_path):
    whole = fit_recording(corpus, tmp_path / "whole", sortagrad=0)
    first = fit_recording(corpus, tmp_path / "cut", sortagrad=0, stop_at=8)  # in the middle of epoch 1
    assert len(first) == 8
    rest = fit_recording(corpus, tmp_path / "cut", sortagrad=0, ckpt_path=tmp_path / "cut" / "ckpt" / "last.ckpt")
    assert first + rest == whole
