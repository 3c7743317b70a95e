"""Parameter-efficient fine-tuning through train.py: LoRA (peft=lora) and MMS adapters (model=mms)."""

import json

import pytest
import torch
from safetensors.torch import load_file
from transformers import Wav2Vec2Config, Wav2Vec2ForCTC

from tests.conftest import MICRO_ARCHITECTURE
from tests.e2e.test_train import corpus_args, run

pytestmark = pytest.mark.slow

QUICK = ["logger=csv", "decode=greedy", "~nlu", "data.loader.max_seconds=20", "trainer.val_check_interval=2"]


def test_lora_trains_resumes_and_exports_a_plain_model(corpus, base_like_checkpoint, tmp_path):
    args = [
        "model=nguyenvulebinh",
        f"model.pretrained={base_like_checkpoint}",
        "peft=lora",
        "model.peft.rank=4",
        *QUICK,
        *corpus_args(corpus),
        f"paths.runs_dir={tmp_path}",
        "run_name=lora",
    ]
    first = run("train.py", *args, "trainer.max_steps=2", "test_after_fit=false")
    assert "trained" in first.stdout + first.stderr
    run("train.py", *args, "trainer.max_steps=4", "ckpt_path=last")
    folder = tmp_path / "train" / "lora"
    checkpoint = torch.load(folder / "checkpoints" / "last.ckpt", weights_only=False)
    assert checkpoint["global_step"] == 4 and checkpoint["vasr"]["peft"]["r"] == 4
    assert any("lora_B" in key for key in checkpoint["state_dict"])
    exported = load_file(folder / "export" / "model.safetensors")
    assert not any("lora_" in k or "base_model.model" in k or "modules_to_save" in k for k in exported)
    assert Wav2Vec2ForCTC.from_pretrained(folder / "export").config.vocab_size == exported["lm_head.weight"].shape[0]
    assert "test/wer" in json.loads((folder / "results.json").read_text())


def test_mms_trains_only_its_adapters_and_exports_the_adapter_file(corpus, tmp_path):
    pretrained = tmp_path / "mms_like"
    shape = {**MICRO_ARCHITECTURE, "do_stable_layer_norm": True}
    Wav2Vec2ForCTC(Wav2Vec2Config(**shape, adapter_attn_dim=4, vocab_size=12, pad_token_id=0)).save_pretrained(
        pretrained
    )
    args = ["model=mms", f"model.pretrained={pretrained}", "trainer.max_steps=4", *QUICK, *corpus_args(corpus)]
    run("train.py", *args, f"paths.runs_dir={tmp_path}", "run_name=mms")
    export = tmp_path / "train" / "mms" / "export"
    base, tuned = load_file(pretrained / "model.safetensors"), load_file(export / "model.safetensors")
    adapter = load_file(export / "adapter.vie.safetensors")
    frozen = [k for k in base if k not in adapter]
    assert frozen and all(torch.equal(base[k], tuned[k]) for k in frozen)
    layers = [k for k in adapter if ".adapter_layer." in k]
    assert layers and all(torch.equal(adapter[k], tuned[k]) and not torch.equal(adapter[k], base[k]) for k in layers)
