"""StepCheckpoint saves the last checkpoint every N steps (whole or not at all: test_checkpoint_io.py); RankWatch
names the ranks that did not check in after a failed collective, and rank 0 when its store is gone."""

import datetime
import logging
from pathlib import Path
from types import SimpleNamespace

import torch.distributed as dist
from transformers import AutoModelForCTC

from tests.families import save_tiny_checkpoint
from vasr.model.adapters import adapter_only
from vasr.model.lora import add_lora
from vasr.recipe.callbacks import RankWatch, StepCheckpoint, trained_parts

TIMEOUT = datetime.timedelta(seconds=5)


def watched(store, rank: int, world: int = 3) -> RankWatch:
    watch = RankWatch(wait_seconds=1)
    watch.watch(store, SimpleNamespace(global_rank=rank, world_size=world))
    return watch


def test_the_ranks_that_do_not_check_in_are_named(caplog):
    server = dist.TCPStore("127.0.0.1", 0, is_master=True, wait_for_workers=False, timeout=TIMEOUT)
    rank0, rank1 = watched(server, 0), watched(dist.TCPStore("127.0.0.1", server.port, timeout=TIMEOUT), 1)
    assert rank1.missing_ranks() == [0, 2]  # rank 1 checked in, then waited for the others
    assert rank0.missing_ranks() == [2]
    with caplog.at_level(logging.ERROR, logger="vasr"):
        rank0.on_exception(None, None, RuntimeError("Timed out waiting 20000ms for recv operation to complete"))
    assert "rank 0: rank 2 is gone (killed, out of memory, frozen or its node lost" in caplog.text
    caplog.clear()
    rank0.on_exception(None, None, ValueError("not a collective's failure"))
    assert not caplog.text


def test_a_store_that_is_gone_names_rank_0():
    server = dist.TCPStore("127.0.0.1", 0, is_master=True, wait_for_workers=False, timeout=TIMEOUT)
    rank1 = watched(dist.TCPStore("127.0.0.1", server.port, timeout=TIMEOUT), 1, world=2)
    del server
    assert rank1.missing_ranks() == [0]


class Saving(SimpleNamespace):
    """A trainer recording the steps and paths it was asked to save at."""

    def save_checkpoint(self, path: Path, weights_only: bool) -> None:
        self.saved.append((self.global_step, Path(path).name, weights_only))


def test_the_last_checkpoint_is_saved_every_n_steps_once_each(tmp_path):
    saves, trainer = StepCheckpoint(tmp_path, every_n_steps=2), Saving(saved=[], global_step=0)
    for step in (1, 2, 2, 3, 4):  # step 2 twice: gradient accumulation's micro-batches
        trainer.global_step = step
        saves.on_train_batch_end(trainer)
    saves.on_train_end(trainer, None)
    assert trainer.saved == [(2, "last.ckpt", False), (4, "last.ckpt", False), (4, "last.ckpt", False)]


def tiny(family: str, tmp_path):
    return AutoModelForCTC.from_pretrained(save_tiny_checkpoint(family, tmp_path / family))


def test_the_blank_plateau_diagnosis_names_each_familys_frozen_parts(tmp_path):
    wav2vec2 = tiny("wav2vec2", tmp_path)
    wav2vec2.freeze_feature_encoder()
    found = trained_parts(wav2vec2)
    assert found.startswith("frozen: wav2vec2.feature_extractor; trained: ") and "lm_head" in found
    assert trained_parts(tiny("wav2vec2-bert", tmp_path)).startswith("trained: wav2vec2_bert.feature_projection")
    mms = tiny("mms", tmp_path)
    adapter_only(mms, "vie")  # the base frozen, adapters inside the encoder's layers train
    found = trained_parts(mms)
    assert "frozen: wav2vec2.feature_extractor, wav2vec2.feature_projection" in found
    assert "partly trained: wav2vec2.encoder (" in found and found.endswith("trained: lm_head")
    lora = add_lora(tiny("hubert", tmp_path), rank=2)
    found = trained_parts(lora)
    assert found.startswith("frozen: hubert.feature_extractor, hubert.feature_projection")
    assert "partly trained: hubert.encoder (" in found
