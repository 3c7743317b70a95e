"""Every checkpoint a run writes is whole or not written: a kill while saving leaves the previous one."""

from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO
from omegaconf import OmegaConf

from tests.test_config import compose_train
from vasr.recipe.checkpoint_io import AtomicCheckpointIO
from vasr.recipe.trainer import build_trainer


class Killed(BaseException):
    """The process killed (kill -9, out of memory) in the middle of a save."""


def test_a_kill_while_writing_leaves_the_previous_checkpoint_whole(tmp_path, monkeypatch):
    path, io = tmp_path / "checkpoints" / "last.ckpt", AtomicCheckpointIO()
    io.save_checkpoint({"step": 2}, path)
    write = TorchCheckpointIO.save_checkpoint

    def torn(self, checkpoint, target, storage_options=None):  # Lightning's write, cut off half way
        write(self, checkpoint, target, storage_options)
        Path(target).write_bytes(Path(target).read_bytes()[:10])
        raise Killed

    monkeypatch.setattr(TorchCheckpointIO, "save_checkpoint", torn)
    with pytest.raises(Killed):
        io.save_checkpoint({"step": 4}, path)
    monkeypatch.undo()
    assert torch.load(path, weights_only=True) == {"step": 2}  # what ckpt_path=last resumes from
    io.save_checkpoint({"step": 6}, path)
    assert torch.load(path, weights_only=True) == {"step": 6} and not path.with_name("last.ckpt.partial").exists()


@pytest.mark.parametrize("overrides", [[], ["trainer.devices=2", "trainer.accelerator=cpu"]])
def test_the_runs_trainer_writes_every_checkpoint_through_it(overrides, tmp_path):
    """One process and DDP alike: best, last and SLURM's hpc checkpoints all go through the strategy's IO."""
    trainer_cfg = compose_train(overrides).trainer
    trainer = build_trainer(OmegaConf.create({"trainer": trainer_cfg, "paths": {"output_dir": str(tmp_path)}}))
    assert isinstance(trainer, L.Trainer) and isinstance(trainer.strategy.checkpoint_io, AtomicCheckpointIO)
