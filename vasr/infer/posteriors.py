"""Running a model over utterances: their CTC log-probabilities, computed once and reused by every decoder."""

from __future__ import annotations

import time

import torch
from rich.progress import track
from torch.utils.data import DataLoader
from transformers import Wav2Vec2CTCTokenizer, Wav2Vec2ForCTC

from vasr.data.collate import CTCCollator
from vasr.data.dataset import SpeechDataset
from vasr.data.manifest import Item
from vasr.data.sampler import BucketBatchSampler
from vasr.decoding.ctc import cut_log_probs, uses_attention_mask


def posteriors(
    model: Wav2Vec2ForCTC, tokenizer: Wav2Vec2CTCTokenizer, items: list[Item], batch_size: int = 1
) -> tuple[list[torch.Tensor], float]:
    """Each item's (frames, vocab) CTC log-probabilities in item order, and the wall time.

    Batch 1 feeds each utterance unpadded (the reference recipe); larger batches are length-bucketed.
    Greedy decoding, beam search with a language model and its weight tuning all read these.
    """
    dataset = SpeechDataset(items, tokenizer)
    sampler = BucketBatchSampler(dataset.durations, batch_size=batch_size, shuffle=False)
    loader = DataLoader(dataset, batch_sampler=sampler, collate_fn=CTCCollator(uses_attention_mask(model.config)))
    found: dict[str, torch.Tensor] = {}
    start = time.perf_counter()
    with torch.inference_mode():
        for batch in track(loader, description=f"transcribing {len(items)} utterances"):
            logits = model(batch["input_values"], attention_mask=batch.get("attention_mask")).logits
            found |= dict(zip(batch["ids"], cut_log_probs(model, logits, batch["input_lengths"]), strict=True))
    return [found[item.id] for item in items], time.perf_counter() - start
