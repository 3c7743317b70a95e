"""w2v-BERT and LoRA under DDP (2 gloo processes): killed with SIGKILL mid-training, resumed with ckpt_path=last,
they end with the weights and losses of the run that was never interrupted."""

from pathlib import Path

import pytest
import torch

from tests.batch_recorder import trained_batches
from tests.e2e.test_distributed import RESUMABLE
from tests.e2e.test_train import corpus_args, killed_at, run
from tests.families import save_tiny_checkpoint
from vasr.recipe.plots import read_metrics

pytestmark = pytest.mark.slow
KILLED_AT, STEPS = 3, 6


def family_args(family: str, folder: Path) -> list[str]:
    if family == "w2v-BERT":
        return ["model=w2v_bert", f"model.pretrained={save_tiny_checkpoint('wav2vec2-bert', folder)}"]
    pretrained = save_tiny_checkpoint("wav2vec2", folder)
    # LoRA's dropout, the checkpoint's dropouts, SpecAugment's masks and LayerDrop as the recipe has them
    return ["model=nguyenvulebinh", f"model.pretrained={pretrained}", "peft=lora", "model.peft.rank=4"]


def ddp_args(family: str, corpus: Path, tmp_path: Path) -> list[str]:
    return [
        *(option for option in RESUMABLE if not option.startswith("model=")),
        *family_args(family, tmp_path / "pretrained"),
        *corpus_args(corpus),
        "test_before_fit=false",
        f"paths.runs_dir={tmp_path}",
        "trainer=ddp",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
        f"trainer.max_steps={STEPS}",
        "trainer.log_every_n_steps=1",
        "callbacks.last_checkpoint.every_n_steps=1",
        "+callbacks.record._target_=tests.batch_recorder.RecordBatches",
        "+callbacks.record.path=${paths.output_dir}/batches.jsonl",
    ]


def weights(folder: Path) -> dict[str, torch.Tensor]:
    return torch.load(folder / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)["state_dict"]


@pytest.mark.parametrize("family", ["w2v-BERT", "LoRA"])
def test_killed_under_ddp_then_resumed_ends_as_the_uninterrupted_run(family, corpus, tmp_path):
    args = ddp_args(family, corpus, tmp_path)
    run("train.py", *args, "run_name=whole", timeout=600)
    whole = tmp_path / "train" / "whole"
    killed = tmp_path / "train" / "killed"
    killed_at([*args, "run_name=killed"], killed, KILLED_AT)
    saved = torch.load(killed / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert saved["global_step"] == KILLED_AT
    resumed = run("train.py", *args, "run_name=killed", "ckpt_path=last", timeout=600)
    assert "Restoring states from the checkpoint" in resumed.stdout + resumed.stderr
    for rank in (0, 1):  # each rank trains the batches it trained in the uninterrupted run
        assert trained_batches(killed / "batches.jsonl", rank) == trained_batches(whole / "batches.jsonl", rank)
    expected, got = weights(whole), weights(killed)
    assert expected.keys() == got.keys() and (family != "LoRA" or any("lora_B" in key for key in got))
    assert [key for key in expected if not torch.equal(expected[key], got[key])] == []
    losses = {
        run_name: dict(read_metrics(tmp_path / "train" / run_name / "metrics.csv")["train/loss"])
        for run_name in ("whole", "killed")
    }
    after = {step: loss for step, loss in losses["whole"].items() if step >= KILLED_AT}
    assert len(after) == STEPS - KILLED_AT and {step: losses["killed"][step] for step in after} == after
