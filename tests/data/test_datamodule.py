import contextlib
import hashlib

import lightning as L
import numpy as np
import pytest

from tests.conftest import MICRO_ARCHITECTURE, optim_factories
from vasr.audio import load_audio, standardize
from vasr.augment import AddNoise, Augmentation, ColouredNoise, Reverb, SyntheticRooms
from vasr.data.datamodule import SpeechDataModule
from vasr.data.sampler import padded_seconds
from vasr.data.splits import load_splits, write_splits
from vasr.model.build import build_from_config
from vasr.model.module import CTCModule
from vasr.recipe.callbacks import StepCheckpoint
from vasr.recipe.run_folder import RunFolder
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
    assert set(dm.datasets) == {"train", "val"}  # the test split is scored after training (recipe.evaluation)


class Crash(RuntimeError):
    """A run dying mid-epoch."""


class RecordBatches(L.Callback):
    """What Lightning hands the model: the utterance ids of each training batch, in order."""

    def __init__(self, stop_at: int | None = None) -> None:
        self.batches: list[tuple[int, tuple[str, ...]]] = []
        self.stop_at = stop_at

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        audio = hashlib.sha1(batch["input_values"].numpy().tobytes()).hexdigest()
        self.batches.append((trainer.current_epoch, tuple(batch["ids"]), audio))

    def on_train_batch_end(self, trainer, *args) -> None:
        if trainer.global_step == self.stop_at:
            raise Crash  # StepCheckpoint.on_exception keeps last.ckpt, as after a kill -9


def augmentation() -> Augmentation:
    """Every transform on every utterance, so no training audio is left as recorded."""
    return Augmentation(
        speeds=(0.9, 1.0, 1.1),
        reverb=Reverb(SyntheticRooms(), p=1.0),
        noise=AddNoise([ColouredNoise()], snr_db=(5.0, 10.0), p=1.0),
    )


def micro_setup(corpus, tmp_path, **options) -> tuple[dict, CTCModule, SpeechDataModule]:
    """The test corpus split, a micro model over its vocabulary and a DataModule with ``options``."""
    splits, _ = load_splits(corpus / "manifest.jsonl", corpus / "audio", val_ratio=0.25, test_ratio=0.25)
    tokenizer = make_tokenizer(save_vocab(build_vocab("corpus", (i.text for i in splits["train"])), tmp_path))
    module = CTCModule(
        build_from_config(MICRO_ARCHITECTURE, tokenizer.get_vocab(), PAD), tokenizer, **optim_factories()
    )
    return splits, module, SpeechDataModule(splits, tokenizer, **options)


def quiet_trainer(tmp_path, **options) -> L.Trainer:
    return L.Trainer(
        reload_dataloaders_every_n_epochs=1,  # as conf/trainer: epochs of speed-perturbed batches differ in count
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        use_distributed_sampler=False,
        default_root_dir=tmp_path,
        **options,
    )


def fit_recording(corpus, tmp_path, sortagrad: int, stop_at=None, ckpt_path=None, augment=None) -> list:
    _, module, dm = micro_setup(
        corpus, tmp_path, batch_size=2, seed=5, sortagrad_epochs=sortagrad, augmentation=augment
    )
    return recorded_fit(module, dm, tmp_path, 3, stop_at, ckpt_path)


def recorded_fit(module, dm, tmp_path, epochs: int, stop_at=None, ckpt_path=None) -> list:
    """The batches a fit of ``epochs`` trains on, checkpointed every step; stopped as by a kill at ``stop_at``."""
    record = RecordBatches(stop_at)
    callbacks = [StepCheckpoint(tmp_path, every_n_steps=1), record]
    trainer = quiet_trainer(tmp_path, max_epochs=epochs, limit_val_batches=0, callbacks=callbacks)
    with contextlib.suppress(Crash):
        trainer.fit(module, dm, ckpt_path=ckpt_path)
    return record.batches


def test_each_epoch_a_new_order_sortagrad_first_only(corpus, tmp_path):
    batches = fit_recording(corpus, tmp_path, sortagrad=1)
    epochs = [[ids for epoch, ids, _ in batches if epoch == e] for e in range(3)]
    assert all(len(e) == 6 for e in epochs) and len({tuple(e) for e in epochs}) == 3
    splits, _ = load_splits(corpus / "manifest.jsonl", corpus / "audio", val_ratio=0.25, test_ratio=0.25)
    durations = {i.id: i.duration for i in splits["train"]}
    longest = [[padded_seconds(max(durations[i] for i in ids), 0.25) for ids in e] for e in epochs]
    assert longest[0] == sorted(longest[0]) and longest[1] != sorted(longest[1]) != longest[2]
    for epoch in epochs:
        assert sorted(i for ids in epoch for i in ids) == sorted(durations)
    assert fit_recording(corpus, tmp_path / "again", sortagrad=1) == batches  # seeded


@pytest.mark.parametrize("augment", [None, augmentation], ids=["clean", "augmented"])
def test_resumed_mid_epoch_trains_exactly_the_uninterrupted_batches(corpus, tmp_path, augment):
    make = augment or (lambda: None)
    whole = fit_recording(corpus, tmp_path / "whole", sortagrad=0, augment=make())
    first = fit_recording(corpus, tmp_path / "cut", sortagrad=0, stop_at=8, augment=make())  # mid epoch 1
    assert len(first) == 8
    last = RunFolder(tmp_path / "cut").last_checkpoint
    rest = fit_recording(corpus, tmp_path / "cut", sortagrad=0, ckpt_path=last, augment=make())
    assert first + rest == whole  # the same utterances and, byte for byte, the same audio


class RecordAudio(L.Callback):
    """Each utterance's audio as the model receives it, in training and in validation."""

    def __init__(self) -> None:
        self.train: dict[str, list[np.ndarray]] = {}
        self.val: dict[str, np.ndarray] = {}
        self.validations = 0

    @staticmethod
    def rows(batch):
        for row, uid in enumerate(batch["ids"]):
            yield uid, batch["input_values"][row, : batch["input_lengths"][row]].numpy().copy()

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        for uid, audio in self.rows(batch):
            self.train.setdefault(uid, []).append(audio)

    def on_validation_batch_start(self, trainer, module, batch, batch_idx, dataloader_idx=0) -> None:
        self.val |= dict(self.rows(batch))

    def on_validation_epoch_end(self, trainer, module) -> None:
        self.validations += not trainer.sanity_checking


def test_augmentation_changes_training_audio_never_validation_audio(corpus, tmp_path):
    splits, module, dm = micro_setup(corpus, tmp_path, max_seconds=8.0, eval_batch_size=2, augmentation=augmentation())
    record = RecordAudio()
    quiet_trainer(tmp_path, max_epochs=2, enable_checkpointing=False, callbacks=[record]).fit(module, dm)
    assert record.validations == 2  # every epoch validated, whatever its batch count
    clean = {i.id: standardize(load_audio(i.path)) for items in splits.values() for i in items}
    assert len(record.train) == 12 and all(len(heard) == 2 for heard in record.train.values())
    for uid, heard in record.train.items():
        for audio in heard:
            assert audio.shape != clean[uid].shape or not np.allclose(audio, clean[uid], atol=1e-3)
        assert heard[0].shape != heard[1].shape or not np.array_equal(*heard)  # a new draw each epoch
    assert len(record.val) == 6
    assert all(np.array_equal(audio, clean[uid]) for uid, audio in record.val.items())


def test_augmented_batches_are_identical_with_any_worker_count(corpus, tmp_path):
    epochs = {}
    for workers in (0, 1, 2):
        _, _, dm = micro_setup(corpus, tmp_path, max_seconds=8.0, num_workers=workers, augmentation=augmentation())
        loader = dm.train_dataloader()
        epochs[workers] = [[(tuple(b["ids"]), b["input_values"].numpy().tobytes()) for b in loader] for _ in range(2)]
    assert epochs[0] == epochs[1] == epochs[2] and epochs[0][0] != epochs[0][1]


def test_speed_perturbation_without_per_epoch_reload_is_refused(corpus, tmp_path):
    _, module, dm = micro_setup(corpus, tmp_path, max_seconds=8.0, augmentation=augmentation())
    trainer = L.Trainer(max_steps=1, logger=False, enable_progress_bar=False, default_root_dir=tmp_path)
    with pytest.raises(ValueError, match="reload_dataloaders_every_n_epochs=1"):
        trainer.fit(module, dm)
