"""Shared fixtures: a small synthesised corpus and a very small wav2vec2 architecture."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from transformers import Wav2Vec2Config, Wav2Vec2CTCTokenizer, Wav2Vec2ForCTC

from vasr.recipe.resolvers import register_resolvers
from vasr.synth import write_corpus

ROOT = Path(__file__).resolve().parents[1]
if os.environ.get("PYTEST_XDIST_WORKER"):  # workers share the cores: a thread each, and each run they start
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
register_resolvers()  # the tests compose conf/ as train.py does
# conf/model/micro.yaml's architecture with its overrides: small enough for a CPU step in well under a second.
_MICRO = OmegaConf.load(ROOT / "conf" / "model" / "micro.yaml")
MICRO_ARCHITECTURE = OmegaConf.to_container(_MICRO.architecture) | OmegaConf.to_container(_MICRO.overrides)


def optim_factories(lr: float = 1e-3, warmup: int = 2) -> dict:
    """``conf/optim/adamw_linear.yaml``'s optimizer and schedule factories, as CTCModule takes them."""
    optim = OmegaConf.load(ROOT / "conf" / "optim" / "adamw_linear.yaml")
    optim.optimizer.lr, optim.scheduler.num_warmup_steps = lr, warmup
    return {"optimizer": instantiate(optim.optimizer), "scheduler": instantiate(optim.scheduler)}


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> Path:
    """A 24-utterance demo corpus (manifest.jsonl + audio/), made once per session."""
    folder = tmp_path_factory.mktemp("corpus")
    write_corpus(folder, 24, seed=7, workers=2)
    return folder


@pytest.fixture(scope="session")
def base_like_checkpoint(tmp_path_factory) -> Path:
    """A small stand-in for nguyenvulebinh/wav2vec2-base-vietnamese-250h, saved as a hub folder.

    The base architecture's kind (group-norm feature encoder, post-LN transformer, no attention
    mask) at toy width, 4 layers, LayerDrop 0.1, and a hub-style tokenizer (<pad>, <s>, </s>, <unk>).
    """
    folder = tmp_path_factory.mktemp("base_like")
    vocab = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4}
    vocab |= {c: i + 5 for i, c in enumerate("abcdeghiklmnopqrstuvxyđáàảãạăâêôơư")}
    architecture = {**MICRO_ARCHITECTURE, "feat_extract_norm": "group", "num_hidden_layers": 4}
    config = Wav2Vec2Config(**architecture, layerdrop=0.1, vocab_size=len(vocab), pad_token_id=0)
    Wav2Vec2ForCTC(config).save_pretrained(folder)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tokenizer = Wav2Vec2CTCTokenizer(str(folder / "vocab.json"), unk_token="<unk>", pad_token="<pad>")
    tokenizer.save_pretrained(folder)
    return folder
