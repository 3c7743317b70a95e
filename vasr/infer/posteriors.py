"""Running a model over utterances: their CTC log-probabilities, computed once and reused by every decoder."""

from __future__ import annotations

import time

import torch
from rich.progress import track
from torch.utils.data import DataLoader
from transformers import PreTrainedModel, Wav2Vec2CTCTokenizer

from vasr.data.collate import CTCCollator
from vasr.data.dataset import SpeechDataset
from vasr.data.features import AudioFeatures
from vasr.data.manifest import Item
from vasr.data.sampler import BucketBatchSampler
from vasr.decoding.ctc import cut_log_probs
from vasr.model.family import family_of


def resolve_device(device: str | None = "auto") -> torch.device:
    """``auto`` (or None): the GPU when there is one, else the CPU; anything else as torch names it."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def model_inputs(batch: dict, input_name: str, device: torch.device) -> dict[str, torch.Tensor]:
    """The model's input and (where the batch has one) attention mask of a collated batch, on ``device``."""
    return {key: batch[key].to(device) for key in (input_name, "attention_mask") if key in batch}


def posteriors(
    model: PreTrainedModel,
    tokenizer: Wav2Vec2CTCTokenizer,
    items: list[Item],
    batch_size: int = 1,
    device: str | None = "auto",
    features: AudioFeatures | None = None,
) -> tuple[list[torch.Tensor], float]:
    """Each item's (frames, vocab) CTC log-probabilities in item order (on the CPU), and the wall time.

    The model and each batch go to ``device`` (the model stays there). Batch 1 feeds each utterance
    unpadded (the reference recipe); larger batches are length-bucketed. A model without an attention mask
    (group-normed feature encoder: wav2vec 2.0 base, vasr-tiny-vi) reads each utterance alone whatever
    ``batch_size`` says: its feature encoder normalises over the whole input, padding included, so a padded batch
    would change its output and a score would depend on what it was batched with. Greedy decoding, beam search
    with a language model and its weight tuning all read these. ``features`` makes the model's input (None: its
    family's default feature extractor's).
    """
    family = family_of(model.config)
    features = features or family.features()
    if not features.attention_mask:
        batch_size = 1
    target = resolve_device(device)
    model = model.to(target)
    dataset = SpeechDataset(items, tokenizer)
    sampler = BucketBatchSampler(dataset.durations, batch_size=batch_size, shuffle=False)
    loader = DataLoader(dataset, batch_sampler=sampler, collate_fn=CTCCollator(features))
    found: dict[str, torch.Tensor] = {}
    start = time.perf_counter()
    with torch.inference_mode():
        for batch in track(loader, description=f"transcribing {len(items)} utterances on {target.type}"):
            logits = model(**model_inputs(batch, features.input_name, target)).logits
            rows = cut_log_probs(logits, [family.frames(int(n)) for n in batch["input_lengths"]])
            found |= {uid: row.cpu() for uid, row in zip(batch["ids"], rows, strict=True)}
    return [found[item.id] for item in items], time.perf_counter() - start
