"""LoRA through ``peft`` on any transformers CTC model: low-rank updates of the transformer's projections, the
new-vocabulary CTC head trained whole (``modules_to_save``).

peft knows no default target modules for speech models, so they are named here per family
(``config.model_type``). The model is a ``PeftModel`` while it trains: the Lightning checkpoint holds its
LoRA and frozen base weights under peft's own names, so a resume rebuilds the same wrapper and restores
weights and optimizer state exactly. A checkpoint is read back merged (``merge_and_unload``) into the plain
transformers class, which is what the run exports: loading the export needs no peft.

peft's ``save_pretrained`` is never used: with a resized vocabulary it asks the model for its input
embeddings, which speech models do not have. Gradient checkpointing needs no input-gradient hook either:
transformers checkpoints non-reentrantly, so LoRA weights inside a checkpointed layer get their gradients
although every input to it is frozen (tests/model/test_lora.py checks it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import torch
from peft import LoraConfig, PeftModel, get_peft_config, get_peft_model
from transformers import PretrainedConfig, PreTrainedModel

from vasr.model.family import family_of

HEAD = "lm_head"  # every transformers *ForCTC class names its output layer so


def target_modules(config: PretrainedConfig, feed_forward: bool = False) -> list[str]:
    """The module names LoRA adapts in a family (its :class:`~vasr.model.family.Family` knows them): its attention
    projections, and its feed-forward ones if asked. A family vasr does not know is refused there."""
    family = family_of(config)
    if not family.attention_modules and not feed_forward:
        raise ValueError(
            f"LoRA on {family.model_type}'s attention would train nothing (its attention does not call the projection "
            "modules): set model.peft.feed_forward=true, or name modules with model.peft.target_modules=[...]"
        )
    return [*family.attention_modules, *(family.feed_forward_modules if feed_forward else ())]


def add_lora(
    model: PreTrainedModel,
    rank: int = 16,
    alpha: float = 32,
    dropout: float = 0.05,
    targets: Sequence[str] | None = None,
    feed_forward: bool = False,
) -> PeftModel:
    """``model`` wrapped by peft: only the LoRA matrices and a trained copy of the CTC head require gradients."""
    config = LoraConfig(
        r=rank,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=list(targets) if targets else target_modules(model.config, feed_forward),
        modules_to_save=[HEAD],
        bias="none",
    )
    return get_peft_model(model, config)


def with_peft(model: PreTrainedModel, settings: Mapping | None) -> PreTrainedModel | PeftModel:
    """The model a ``conf/peft`` group asks for (``model.peft``): unchanged when there is none."""
    if not settings:
        return model
    settings = dict(settings)
    method = settings.pop("method", None)
    if method != "lora":
        raise ValueError(f"unknown model.peft.method {method!r}: vasr trains method=lora (conf/peft/lora.yaml)")
    return add_lora(model, targets=settings.pop("target_modules", None), **settings)


def peft_settings(model: torch.nn.Module) -> dict | None:
    """What a checkpoint records to rebuild the wrapper: peft's config of the model, or None for a plain model."""
    if not isinstance(model, PeftModel):
        return None
    # Plain JSON types (enums to their names, sets to lists): a checkpoint loaded weights-only takes no peft class.
    return json.loads(json.dumps(model.peft_config["default"].to_dict(), default=sorted))


def merged(model: PreTrainedModel, settings: Mapping, state: Mapping[str, torch.Tensor]) -> PreTrainedModel:
    """The plain ``model`` with a peft checkpoint's ``state`` (of the wrapper ``settings`` describe) merged in."""
    wrapped = get_peft_model(model, get_peft_config(dict(settings)))
    wrapped.load_state_dict(state)
    return wrapped.merge_and_unload()
