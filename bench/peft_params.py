"""Trained and total parameters of LoRA and MMS adapter fine-tuning at the published model sizes.

The models are built on the meta device from configs with the published shapes (random weights, nothing
downloaded), then wrapped as ``peft=lora`` and ``model=mms`` do it. ``python bench/peft_params.py``;
the figures are in docs/encoders.md.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from families import LARGE as FAMILIES_LARGE
from families import LORA
from transformers import Wav2Vec2BertConfig, Wav2Vec2BertForCTC, Wav2Vec2Config, Wav2Vec2ForCTC

from vasr.model.adapters import adapter_only
from vasr.model.lora import with_peft

VOCAB = 110  # about a Vietnamese character vocabulary's size
LARGE = {**FAMILIES_LARGE, "vocab_size": VOCAB}  # wav2vec 2.0 large / XLS-R 300M
MMS_1B = {**LARGE, "hidden_size": 1280, "num_hidden_layers": 48, "intermediate_size": 5120, "adapter_attn_dim": 16}


def mms_adapters() -> torch.nn.Module:
    model = Wav2Vec2ForCTC(Wav2Vec2Config(**MMS_1B))
    adapter_only(model, "vie")
    return model


SETUPS: dict[str, Callable[[], torch.nn.Module]] = {
    "XLS-R 300M, LoRA r16 on attention": lambda: with_peft(Wav2Vec2ForCTC(Wav2Vec2Config(**LARGE)), LORA),
    "XLS-R 300M, LoRA r16 on attention and feed-forward": lambda: with_peft(
        Wav2Vec2ForCTC(Wav2Vec2Config(**LARGE)), LORA | {"feed_forward": True}
    ),
    "w2v-BERT 2.0, LoRA r16 on attention": lambda: with_peft(
        Wav2Vec2BertForCTC(Wav2Vec2BertConfig(vocab_size=VOCAB, add_adapter=True)), LORA
    ),
    "MMS 1B, attention adapters (model=mms)": mms_adapters,
}


def main() -> None:
    print("| setup | trained | total | share |\n|---|---|---|---|")
    with torch.device("meta"):
        for name, make in SETUPS.items():
            model = make()
            total = sum(p.numel() for p in model.parameters())
            trained = sum(p.numel() for p in model.parameters() if p.requires_grad)
            print(f"| {name} | {trained / 1e6:.2f}M | {total / 1e6:.0f}M | {trained / total:.2%} |")


if __name__ == "__main__":
    main()
