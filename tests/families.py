"""Small randomly initialised checkpoints of each CTC encoder family, saved as hub folders are (model, feature
extractor, tokenizer), with the real config types: what a user's ``model.pretrained`` folder holds."""

from __future__ import annotations

import json
from pathlib import Path

from transformers import (
    AutoConfig,
    AutoModelForCTC,
    SeamlessM4TFeatureExtractor,
    Wav2Vec2CTCTokenizer,
    Wav2Vec2FeatureExtractor,
)

from tests.conftest import MICRO_ARCHITECTURE

# Each family at toy size (hidden 32, 2 layers, small convolutions): (model_type, config settings).
TINY = {
    "wav2vec2": ("wav2vec2", MICRO_ARCHITECTURE),
    "mms": ("wav2vec2", {**MICRO_ARCHITECTURE, "do_stable_layer_norm": True, "adapter_attn_dim": 8}),
    "hubert": ("hubert", MICRO_ARCHITECTURE),
    "wavlm": ("wavlm", {**MICRO_ARCHITECTURE, "num_buckets": 16, "max_bucket_distance": 64}),
    "data2vec-audio": ("data2vec-audio", {**MICRO_ARCHITECTURE, "num_conv_pos_embeddings": 5}),
    "wav2vec2-bert": (
        "wav2vec2-bert",
        {
            "hidden_size": 32,
            "output_hidden_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "intermediate_size": 64,
            "conv_depthwise_kernel_size": 3,
            "add_adapter": True,
            "num_adapter_layers": 1,
            "mask_time_prob": 0.0,
            "layerdrop": 0.0,
        },
    ),
}
HUB_VOCAB = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4} | {
    c: i + 5 for i, c in enumerate("abcdeghiklmnopqrstuvxyđáàảãạăâêôơư")
}


def save_tiny_checkpoint(family: str, folder: Path) -> Path:
    """A ``family`` checkpoint (a key of ``TINY``) in ``folder``: its ``*ForCTC`` model, its own feature
    extractor and a hub-style CTC tokenizer."""
    model_type, settings = TINY[family]
    config = AutoConfig.for_model(model_type, **settings, vocab_size=len(HUB_VOCAB), pad_token_id=0)
    AutoModelForCTC.from_config(config).save_pretrained(folder)
    if model_type == "wav2vec2-bert":
        extractor = SeamlessM4TFeatureExtractor()
    else:
        extractor = Wav2Vec2FeatureExtractor(do_normalize=True, return_attention_mask=True)
    extractor.save_pretrained(folder)
    (folder / "vocab.json").write_text(json.dumps(HUB_VOCAB, ensure_ascii=False), encoding="utf-8")
    Wav2Vec2CTCTokenizer(str(folder / "vocab.json"), unk_token="<unk>", pad_token="<pad>").save_pretrained(folder)
    return folder
