"""StepCheckpoint keeps a whole last checkpoint through a kill while saving; RankWatch names the ranks that did not
check in after a failed collective, and rank 0 when its store is gone."""

import datetime
import logging
from pathlib import Path
from types import SimpleNamespace

import pytest
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


class Killed(BaseException):
    """The process killed (kill -9, out of memory) in the middle of a save."""


class Saving(SimpleNamespace):
    """A trainer whose save writes ``content`` to the path it is given, in place (as Lightning's temporary file is
    copied onto a run folder on another file system), cut off after ``written`` bytes when ``written`` is set."""

    def save_checkpoint(self, path: Path, weights_only: bool) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)  # as Lightning's checkpoint IO does
        Path(path).write_bytes(self.content[: self.written])
        if self.written is not None:
            raise Killed


def test_a_kill_while_saving_leaves_the_last_checkpoint_whole(tmp_path):
    saves = StepCheckpoint(tmp_path, every_n_steps=2)
    saves.on_train_batch_end(Saving(content=b"step 2", written=None, global_step=2, is_global_zero=True))
    with pytest.raises(Killed):
        saves.on_train_batch_end(Saving(content=b"step 4", written=3, global_step=4, is_global_zero=True))
    assert saves.path.read_bytes() == b"step 2"  # what ckpt_path=last resumes from
    saves.on_train_batch_end(Saving(content=b"step 6", written=None, global_step=6, is_global_zero=True))
    assert saves.path.read_bytes() == b"step 6"


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
