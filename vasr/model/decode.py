"""CTC outputs to text: per-utterance log-probabilities with padding frames cut, and greedy decoding."""

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


def cut_log_probs(model: Wav2Vec2ForCTC, logits: torch.Tensor, input_lengths: torch.Tensor) -> list[torch.Tensor]:
    """A batch's CTC log-probabilities, each row cut at the frames its true length produced (no padding)."""
    frames = model._get_feat_extract_output_lengths(input_lengths).tolist()
    log_probs = torch.log_softmax(logits.float(), dim=-1)
    return [row[: int(n)] for row, n in zip(log_probs, frames, strict=True)]


def posteriors(
    model: Wav2Vec2ForCTC, tokenizer: Wav2Vec2CTCTokenizer, items: list[Item], batch_size: int = 1
) -> tuple[list[torch.Tensor], float]:
    """Each item's (frames, vocab) CTC log-probabilities in item order, and the wall time.

    Batch 1 feeds each utterance unpadded (the reference recipe); larger batches are length-bucketed.
    The matrices are what beam search with a language model consumes; greedy decoding is their argmax.
    """
    use_mask = model.config.feat_extract_norm == "layer"
    dataset = SpeechDataset(items, tokenizer)
    sampler = BucketBatchSampler(dataset.durations, batch_size=batch_size, shuffle=False)
    loader = DataLoader(dataset, batch_sampler=sampler, collate_fn=CTCCollator(use_mask))
    found: dict[str, torch.Tensor] = {}
    start = time.perf_counter()
    with torch.inference_mode():
        for batch in track(loader, description=f"transcribing {len(items)} utterances"):
            logits = model(batch["input_values"], attention_mask=batch.get("attention_mask")).logits
            found |= dict(zip(batch["ids"], cut_log_probs(model, logits, batch["input_lengths"]), strict=True))
    return [found[item.id] for item in items], time.perf_counter() - start


def greedy_transcripts(tokenizer: Wav2Vec2CTCTokenizer, log_probs: list[torch.Tensor]) -> list[str]:
    """Greedy transcripts of cut log-probability matrices."""
    return tokenizer.batch_decode([row.argmax(dim=-1).tolist() for row in log_probs])


def transcribe(model, tokenizer, items: list[Item], batch_size: int = 1) -> tuple[list[str], float]:
    """Greedy transcripts in item order and the wall time."""
    log_probs, seconds = posteriors(model, tokenizer, items, batch_size)
    return greedy_transcripts(tokenizer, log_probs), seconds
