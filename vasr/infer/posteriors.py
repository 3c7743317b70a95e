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
from vasr.infer.forward import CTCForward
from vasr.model.family import family_of


def posteriors(
    model: PreTrainedModel,
    tokenizer: Wav2Vec2CTCTokenizer,
    items: list[Item],
    batch_size: int = 1,
    device: str | None = "auto",
    features: AudioFeatures | None = None,
) -> tuple[list[torch.Tensor], float]:
    """Each item's (frames, vocab) CTC log-probabilities in item order (on the CPU), and the wall time.

    The model and each batch go to ``device`` (the model stays there). Batches are length-bucketed and read by
    :class:`~vasr.infer.forward.CTCForward`, so an utterance's log-probabilities do not depend on what it was batched
    with, a model trained without an attention mask included; a family that transformers does not read padding
    exactly in reads each utterance alone whatever ``batch_size`` says. Greedy decoding, beam search with a
    language model and its weight tuning all read these. ``features`` makes the model's input (None: its family's
    default feature extractor's).
    """
    features = features or family_of(model.config).features()
    forward = CTCForward(model, features, device)
    if not forward.pads_exactly:
        batch_size = 1
    dataset = SpeechDataset(items, tokenizer)
    sampler = BucketBatchSampler(dataset.durations, batch_size=batch_size, shuffle=False)
    loader = DataLoader(dataset, batch_sampler=sampler, collate_fn=CTCCollator(features))
    found: dict[str, torch.Tensor] = {}
    start = time.perf_counter()
    for batch in track(loader, description=f"transcribing {len(items)} utterances on {forward.device.type}"):
        found |= dict(zip(batch["ids"], forward(batch), strict=True))
    return [found[item.id] for item in items], time.perf_counter() - start
