"""Where a CTC model comes from: a config built here, or ``from_pretrained`` of a hub id or folder (any family
:mod:`vasr.model.family` knows, through ``AutoModelForCTC``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import torch
from transformers import AutoConfig, AutoModelForCTC, PreTrainedModel, Wav2Vec2CTCTokenizer
from transformers.feature_extraction_utils import FeatureExtractionMixin

from vasr.model.adapters import adapter_only
from vasr.model.family import family_of
from vasr.model.lora import with_peft
from vasr.model.module import CTCModule, OptimizerFactory, SchedulerFactory
from vasr.text.vocab import PAD, pretrained_tokens, tokenizer_for

log = logging.getLogger(__name__)


class PretrainedUnavailable(RuntimeError):
    """A pretrained checkpoint could not be loaded (offline, wrong id, or encoder weights it does not hold)."""


def ctc_settings(vocab: Mapping[str, int], pad_token: str) -> dict:
    """The CTC head settings every vasr model shares: vocabulary size, blank = pad, mean loss, no inf."""
    return {
        "vocab_size": len(vocab),
        "pad_token_id": vocab[pad_token],
        "ctc_loss_reduction": "mean",
        "ctc_zero_infinity": True,
    }


def build_from_config(architecture: Mapping, vocab: Mapping[str, int], pad_token: str, **overrides) -> PreTrainedModel:
    """A freshly initialised model (``model=tiny``): nothing pretrained, so its feature encoder trains too.
    ``architecture``'s ``model_type`` names the family (wav2vec2 when it names none)."""
    settings = {**dict(architecture), **ctc_settings(vocab, pad_token), **overrides}
    config = AutoConfig.for_model(settings.pop("model_type", "wav2vec2"), **settings)
    return AutoModelForCTC.from_config(family_of(config).config)


def pretrained_vocab(source: str) -> dict[str, int] | None:
    """The tokenizer vocabulary of a checkpoint, or None when it ships no tokenizer (e.g. facebook/wav2vec2-base)."""
    try:
        return Wav2Vec2CTCTokenizer.from_pretrained(source).get_vocab()
    except (OSError, ValueError, TypeError) as error:
        log.warning("no CTC tokenizer in %s (%s)", source, error.__class__.__name__)
        return None


def load_pretrained(
    source: str, vocab: Mapping[str, int], pad_token: str, old_vocab: Mapping[str, int] | None = None, **overrides
) -> PreTrainedModel:
    """``AutoModelForCTC.from_pretrained`` with the new vocabulary size; ``lm_head`` rows of tokens both
    vocabularies share are kept. The checkpoint's family is checked first (Whisper is refused before any weight
    is read), and a checkpoint missing encoder weights is refused rather than trained from a random start."""
    try:
        family_of(AutoConfig.from_pretrained(source))
        old, loading = AutoModelForCTC.from_pretrained(source, output_loading_info=True)
    except OSError as error:
        hint = (
            ""
            if Path(source).exists()
            else (
                f" If this machine is offline, download the checkpoint elsewhere (e.g. `hf download {source} "
                f"--local-dir DIR`), copy it here and set model.pretrained=DIR."
            )
        )
        raise PretrainedUnavailable(f"could not load pretrained model {source!r}: {error}.{hint}") from error
    fresh = [key for key in loading["missing_keys"] if not key.startswith("lm_head.") and "adapter_layer" not in key]
    if fresh:
        raise PretrainedUnavailable(
            f"{source} does not hold {len(fresh)} weights of its {type(old).__name__} ({', '.join(sorted(fresh)[:5])}"
            "...): they would train from a random start. Is the folder complete, and its config.json its own?"
        )
    config = old.config
    for key, value in {**ctc_settings(vocab, pad_token), **overrides}.items():
        setattr(config, key, value)
    model = AutoModelForCTC.from_config(config)
    state = {k: v for k, v in old.state_dict().items() if not k.startswith("lm_head.")}
    model.load_state_dict(state, strict=False)
    if old_vocab is not None and hasattr(old, "lm_head"):
        kept = remap_lm_head(old.lm_head, model.lm_head, old_vocab, vocab)
        log.info("kept %d of %d lm_head rows from %s", kept, len(vocab), source)
    return model


def remap_lm_head(
    old: torch.nn.Linear, new: torch.nn.Linear, old_vocab: Mapping[str, int], new_vocab: Mapping[str, int]
) -> int:
    """Copy the output rows of tokens present in both vocabularies; new tokens keep their fresh init."""
    old_ids = pretrained_tokens(old_vocab)
    kept = 0
    with torch.no_grad():
        for token, new_id in new_vocab.items():
            old_id = old_ids.get(token)
            if old_id is not None and old_id < old.out_features:
                new.weight[new_id] = old.weight[old_id]
                new.bias[new_id] = old.bias[old_id]
                kept += 1
    return kept


def build_module(
    *,
    vocab: Mapping[str, int],
    old_vocab: Mapping[str, int] | None = None,
    seed: int = 0,
    name: str,
    pretrained: str | None,
    architecture: Mapping | None,
    overrides: Mapping | None,
    optimizer: OptimizerFactory,
    scheduler: SchedulerFactory,
    freeze_feature_encoder: bool = True,
    gradient_checkpointing: bool = False,
    freeze_transformer_steps: int = 0,
    head_lr: float | None = None,
    compile: bool = False,
    target_lang: str | None = None,
    peft: Mapping | None = None,
) -> CTCModule:
    """The LightningModule a ``conf/model`` config describes (its ``_target_``), over the run's ``vocab``: the
    pretrained checkpoint (``old_vocab`` its tokenizer's) or the architecture, with ``overrides`` of its
    config (SpecAugment, LayerDrop), the optimizer and schedule factories of ``conf/optim``, frozen encoder,
    gradient checkpointing, head-only first steps and the head's own learning rate; ``target_lang`` trains
    only MMS adapters for that language, ``peft`` (``conf/peft``) wraps the model in LoRA."""
    if target_lang and peft:
        raise ValueError("model.target_lang (MMS adapters) and model.peft (LoRA) are two ways to fine-tune: pick one")
    extractor: FeatureExtractionMixin | None = None
    if pretrained:
        model = load_pretrained(pretrained, vocab, PAD, old_vocab, **(overrides or {}))
        extractor = family_of(model.config).extractor(pretrained)
    else:
        model = build_from_config(architecture or {}, vocab, PAD, **(overrides or {}))
    if target_lang:
        adapter_only(model, target_lang)
    model = with_peft(model, peft)
    if compile:
        compile_blocks(model)
    module = CTCModule(
        model,
        tokenizer_for(vocab),
        optimizer=optimizer,
        scheduler=scheduler,
        freeze_feature_encoder=freeze_feature_encoder,
        gradient_checkpointing=gradient_checkpointing,
        seed=seed,
        freeze_transformer_steps=freeze_transformer_steps,
        head_lr=head_lr,
        extractor=extractor,
    )
    if pretrained and old_vocab is not None and not target_lang:  # adapter training re-initialises the head
        module.kept_head_rows = len(set(old_vocab) & set(vocab))
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log.info("model %s (%s): %s parameters, %s trained", name, model.config.model_type, f"{total:,}", f"{trainable:,}")
    return module


def compile_blocks(model: PreTrainedModel) -> None:
    """``torch.compile`` each feature-encoder convolution and transformer layer on its own, with dynamic shapes:
    LayerDrop's per-step choice of layers then costs no recompilation, nor does each new batch length.

    Blocks of one class share a code object whose compiled entries are counted together, so the
    recompile limit is raised to fit several entries per block.
    """
    family = family_of(model.config)
    convolutions = family.encoder(model).feature_extractor.conv_layers if family.has_feature_encoder(model) else []
    blocks = [*convolutions, *family.layers(model)]
    raise_recompile_limit(8 * len(blocks))
    for block in blocks:
        block.compile(dynamic=True)


def raise_recompile_limit(limit: int) -> None:
    """``torch.compile``'s recompile limit raised to at least ``limit``, through ``torch.compiler.config`` (public in
    current torch); a torch too old to have it there holds it only in ``torch._dynamo.config``, as
    ``cache_size_limit`` (the name current torch keeps as an alias), the one place vasr reaches into it."""
    public = getattr(torch.compiler, "config", None)
    config = public if hasattr(public, "recompile_limit") else torch._dynamo.config
    name = "recompile_limit" if config is public else "cache_size_limit"
    setattr(config, name, max(getattr(config, name), limit))
