"""MMS adapter-only fine-tuning through transformers' own adapter API, as ``run_speech_recognition_ctc_adapter.py``
does it: the small attention adapters of every layer and the CTC head train, the 1B base stays frozen.

The adapters are re-initialised (``init_adapter_layers``) and the base frozen (``freeze_base_model``);
``model.target_lang`` names the language the adapters are for. A run exports the whole model and, beside it,
``adapter.<lang>.safetensors`` (adapter layers and head), the file MMS users load into the base model with
``model.load_adapter(lang)``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import PreTrainedModel

from vasr.model.lora import HEAD

# What transformers' ``load_adapter(lang)`` reads: the file of this name beside the model, holding the weights of
# each encoder layer's ``adapter_layer`` and of the head. The names are fixed by the adapter files MMS published
# (facebook/mms-1b-all), where the module of transformers that defines them is internal to it.
ADAPTER_FILE = "adapter.{}.safetensors"
ADAPTER_LAYER = "adapter_layer"


def adapter_weights(model: torch.nn.Module) -> dict[str, torch.nn.Parameter]:
    """The adapter layers' and the head's parameters under the names ``load_adapter`` expects in the file."""
    weights = {
        f"{name}.{param_name}": param
        for name, module in model.named_modules()
        if name.rpartition(".")[2] == ADAPTER_LAYER
        for param_name, param in module.named_parameters()
    }
    return weights | {f"{HEAD}.{name}": param for name, param in getattr(model, HEAD).named_parameters()}


def adapter_only(model: PreTrainedModel, target_lang: str) -> None:
    """Fresh adapters for ``target_lang`` and a fresh head train; every other weight is frozen."""
    weights = adapter_weights(model)
    if not hasattr(model, "init_adapter_layers") or all(name.startswith(f"{HEAD}.") for name in weights):
        raise ValueError(
            f"model.target_lang={target_lang!r} trains MMS attention adapters, but this {type(model).__name__} "
            "has none (they need config.adapter_attn_dim and the stable-layer-norm transformer): use an MMS "
            "checkpoint (facebook/mms-1b-all) or drop model.target_lang"
        )
    model.init_adapter_layers()
    model.freeze_base_model()
    for param in weights.values():
        param.requires_grad_(True)
    model.target_lang = target_lang


def adapter_language(model: torch.nn.Module) -> str | None:
    """The language a model's adapters were trained for (None: no adapter training)."""
    return getattr(model, "target_lang", None)


def save_adapter(model: PreTrainedModel, folder: str | Path) -> Path | None:
    """``adapter.<lang>.safetensors`` in ``folder`` for a model trained adapter-only; None for any other."""
    lang = adapter_language(model)
    if lang is None or getattr(model.config, "adapter_attn_dim", None) is None:
        return None
    path = Path(folder) / ADAPTER_FILE.format(lang)
    save_file({name: param.detach().contiguous() for name, param in adapter_weights(model).items()}, str(path))
    return path
