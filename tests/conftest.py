"""Shared fixtures: a small synthesised corpus and a very small wav2vec2 architecture."""

from __future__ import annotations

from pathlib import Path

import pytest

from vasr.data.synth import write_corpus

ROOT = Path(__file__).resolve().parents[1]
# Small enough for a CPU step in well under a second.
MICRO_ARCHITECTURE = {
    "conv_dim": [16, 16, 16],
    "conv_stride": [5, 4, 4],
    "conv_kernel": [10, 4, 4],
    "feat_extract_norm": "layer",
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "num_conv_pos_embeddings": 16,
    "num_conv_pos_embedding_groups": 4,
    "mask_time_prob": 0.0,
}


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> Path:
    """A 24-utterance demo corpus (manifest.jsonl + audio/), made once per session."""
    folder = tmp_path_factory.mktemp("corpus")
    write_corpus(folder, 24, seed=7, workers=2)
    return folder
