"""Hugging Face folders from Lightning checkpoints, and loading either back for inference."""

from __future__ import annotations

import re
from pathlib import Path

import torch
from transformers import (
    Wav2Vec2Config,
    Wav2Vec2CTCTokenizer,
    Wav2Vec2FeatureExtractor,
    Wav2Vec2ForCTC,
    Wav2Vec2Processor,
)

from vasr.data.audio import SAMPLE_RATE
from vasr.decoding.ctc import uses_attention_mask
from vasr.model.adapters import save_adapter
from vasr.model.lora import merged
from vasr.text.vocab import tokenizer_for

HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")  # owner/name, as the hub spells repository ids


def processor_for(tokenizer: Wav2Vec2CTCTokenizer, config: Wav2Vec2Config) -> Wav2Vec2Processor:
    """The processor users load with ``Wav2Vec2Processor.from_pretrained``: 16 kHz, normalised input."""
    extractor = Wav2Vec2FeatureExtractor(
        feature_size=1,
        sampling_rate=SAMPLE_RATE,
        padding_value=0.0,
        do_normalize=True,
        return_attention_mask=uses_attention_mask(config),
    )
    return Wav2Vec2Processor(feature_extractor=extractor, tokenizer=tokenizer)


def export_folder(model: Wav2Vec2ForCTC, tokenizer: Wav2Vec2CTCTokenizer, folder: str | Path) -> Path:
    """``save_pretrained`` of model and processor, so the Hugging Face loaders read it back; a model trained
    adapter-only also gets its ``adapter.<lang>.safetensors``."""
    folder = Path(folder)
    model.save_pretrained(folder)
    save_adapter(model, folder)
    processor_for(tokenizer, model.config).save_pretrained(folder)
    return folder


def load_checkpoint(path: str | Path) -> tuple[Wav2Vec2ForCTC, Wav2Vec2CTCTokenizer]:
    """Model and tokenizer from a vasr Lightning checkpoint (which carries config and vocabulary); a LoRA
    checkpoint's adapters are merged into the plain model."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    if "vasr" not in checkpoint:
        raise ValueError(f"{path}: not a vasr checkpoint (no model config or vocabulary inside)")
    model = Wav2Vec2ForCTC(Wav2Vec2Config.from_dict(checkpoint["vasr"]["config"]))
    state = {k.removeprefix("model."): v for k, v in checkpoint["state_dict"].items() if k.startswith("model.")}
    if checkpoint["vasr"].get("peft"):
        model = merged(model, checkpoint["vasr"]["peft"], state)
    else:
        model.load_state_dict(state)
    model.target_lang = checkpoint["vasr"].get("target_lang")
    return model, tokenizer_for(checkpoint["vasr"]["vocab"])


def model_folder(source: str | Path) -> Path | None:
    """Where a model's files are: the folder itself, or a hub id's downloaded snapshot (its ``language_model/``
    included); None for a ``.ckpt`` file."""
    if str(source).endswith(".ckpt"):
        if not Path(source).is_file():
            raise FileNotFoundError(f"{source}: no such checkpoint")
        return None
    if Path(source).exists():
        return Path(source)
    if not HUB_ID.fullmatch(str(source)):
        raise FileNotFoundError(f"{source}: no such model folder, and not a hub id (owner/name)")
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(str(source)))
    except Exception as error:  # offline, unknown repository, no access: say what was tried
        raise FileNotFoundError(
            f"{source}: no such model folder, and the hub did not give it ({type(error).__name__}); "
            "download it where there is a network (hf download ID --local-dir DIR) and pass DIR"
        ) from error


def load_for_inference(path: str | Path) -> tuple[Wav2Vec2ForCTC, Wav2Vec2CTCTokenizer]:
    """A ``.ckpt`` file or an exported/pretrained folder (or hub id), in eval mode."""
    if str(path).endswith(".ckpt"):
        model, tokenizer = load_checkpoint(path)
    else:
        model = Wav2Vec2ForCTC.from_pretrained(str(path))
        tokenizer = Wav2Vec2CTCTokenizer.from_pretrained(str(path))
    return model.eval(), tokenizer
