"""Hugging Face folders from Lightning checkpoints, and loading either back for inference."""

from __future__ import annotations

import re
from pathlib import Path

import torch
import transformers
from transformers import AutoConfig, AutoModelForCTC, PreTrainedModel, Wav2Vec2CTCTokenizer, Wav2Vec2Processor
from transformers.feature_extraction_utils import FeatureExtractionMixin

from vasr.data.features import AudioFeatures
from vasr.model.adapters import save_adapter
from vasr.model.family import family_of
from vasr.model.lora import merged
from vasr.text.vocab import tokenizer_for

HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")  # owner/name, as the hub spells repository ids


def processor_for(
    tokenizer: Wav2Vec2CTCTokenizer, config: AutoConfig, extractor: FeatureExtractionMixin | None = None
) -> Wav2Vec2Processor:
    """The processor users load with ``AutoProcessor.from_pretrained`` (and transformers' pipeline reads): the
    model's feature extractor (None: its family's default) and the CTC tokenizer."""
    return Wav2Vec2Processor(feature_extractor=extractor or family_of(config).default_extractor(), tokenizer=tokenizer)


def export_folder(
    model: PreTrainedModel,
    tokenizer: Wav2Vec2CTCTokenizer,
    folder: str | Path,
    extractor: FeatureExtractionMixin | None = None,
) -> Path:
    """``save_pretrained`` of model and processor, so the Hugging Face loaders read it back; a model trained
    adapter-only also gets its ``adapter.<lang>.safetensors``."""
    folder = Path(folder)
    model.save_pretrained(folder)
    save_adapter(model, folder)
    processor_for(tokenizer, model.config, extractor).save_pretrained(folder)
    return folder


def load_extractor(path: str | Path, config: AutoConfig) -> FeatureExtractionMixin:
    """The feature extractor of a ``.ckpt`` (saved in it since vasr knows families) or a folder, the family's
    default where there is none: inference makes the same input as training did."""
    if not str(path).endswith(".ckpt"):
        return family_of(config).extractor(path)
    saved = torch.load(path, map_location="cpu", weights_only=False, mmap=True)["vasr"].get("feature_extractor")
    if saved is None:
        return family_of(config).default_extractor()
    return extractor_class(saved["feature_extractor_type"], path).from_dict(saved)


def extractor_class(name: str, source: str | Path) -> type[FeatureExtractionMixin]:
    """The feature extractor class ``name`` (as its ``feature_extractor_type`` says): transformers exports every one
    of its own at the top of the package, which is where vasr looks it up."""
    kind = getattr(transformers, name, None)
    if not (isinstance(kind, type) and issubclass(kind, FeatureExtractionMixin)):
        raise ValueError(
            f"{source}: its feature extractor {name!r} is not one transformers {transformers.__version__} has"
        )
    return kind


def load_features(path: str | Path, config: AutoConfig) -> AudioFeatures:
    """What makes the input of the model at ``path`` (``.ckpt`` or folder) from waveforms: its family's input with
    its own extractor's settings, so scoring and transcribing feed it what training did."""
    return family_of(config).features(load_extractor(path, config))


def load_checkpoint(path: str | Path) -> tuple[PreTrainedModel, Wav2Vec2CTCTokenizer]:
    """Model and tokenizer from a vasr Lightning checkpoint (which carries config and vocabulary); a LoRA
    checkpoint's adapters are merged into the plain model."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    if "vasr" not in checkpoint:
        raise ValueError(f"{path}: not a vasr checkpoint (no model config or vocabulary inside)")
    saved = dict(checkpoint["vasr"]["config"])
    model = AutoModelForCTC.from_config(AutoConfig.for_model(saved.pop("model_type", "wav2vec2"), **saved))
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


def load_for_inference(path: str | Path) -> tuple[PreTrainedModel, Wav2Vec2CTCTokenizer]:
    """A ``.ckpt`` file or an exported/pretrained folder (or hub id), in eval mode."""
    if str(path).endswith(".ckpt"):
        model, tokenizer = load_checkpoint(path)
    else:
        model = AutoModelForCTC.from_pretrained(str(path))
        tokenizer = Wav2Vec2CTCTokenizer.from_pretrained(str(path))
    return model.eval(), tokenizer
