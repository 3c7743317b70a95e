"""The shipped checkpoint (vasr/assets/vasr-tiny-vi): complete, small, and a working starting point."""

from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from safetensors.torch import load_file

from tests.conftest import ROOT
from vasr import ASSETS
from vasr.data.manifest import read_manifest
from vasr.decoding.beam import BeamDecoder, BeamSettings
from vasr.decoding.ctc import greedy_transcripts
from vasr.decoding.metrics import error_rates
from vasr.decoding.ngram import NgramLM
from vasr.infer.posteriors import posteriors
from vasr.model.build import pretrained_vocab
from vasr.synth.templates import CommandGenerator
from vasr.text.normalize import normalize
from vasr.text.vocab import build_vocab, pretrained_tokens

ASSET = ASSETS / "vasr-tiny-vi"


def fine_tune_config(*overrides: str):
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose(config_name="train", overrides=list(overrides))


def test_default_run_fine_tunes_the_shipped_folder():
    cfg = fine_tune_config()
    assert Path(cfg.model.pretrained) == ASSET and cfg.vocab.strategy == "union" and cfg.model.freeze_feature_encoder


def test_folder_is_complete_small_and_carded():
    names = {p.name for p in ASSET.iterdir()}
    assert {"config.json", "model.safetensors", "vocab.json", "tokenizer_config.json", "README.md"} <= names
    assert sum(p.stat().st_size for p in ASSET.iterdir()) < 20 * 2**20
    card = (ASSET / "README.md").read_text(encoding="utf-8")
    for needed in ("## Data", "wordfreq", "Faker", "Wall time", "| test (", "python train.py experiment=pretrain_base"):
        assert needed in card


@pytest.fixture(scope="module")
def shipped(corpus):
    """The shipped folder loaded through model.pretrained with the union vocabulary of the demo corpus."""
    items, _ = read_manifest(corpus / "manifest.jsonl", corpus / "audio", numbers="verbalize")
    old_vocab = pretrained_vocab(str(ASSET))
    vocab = build_vocab("union", (i.text for i in items), old_vocab)
    model_cfg = fine_tune_config(f"model.pretrained={ASSET}").model
    module = instantiate(model_cfg, _convert_="all")(vocab=vocab, old_vocab=old_vocab)  # as train.py builds it
    return module, items, vocab, old_vocab


def test_decodes_unseen_synthesised_commands_out_of_the_box(shipped):
    module, items, _, _ = shipped
    log_probs, _ = posteriors(module.model.eval(), module.tokenizer, items)
    hyps = greedy_transcripts(module.tokenizer, log_probs)
    rates = error_rates((i.id, i.text, h) for i, h in zip(items, hyps, strict=True))
    assert rates["cer"] < 0.30, list(zip([i.text for i in items], hyps, strict=True))[:5]


def test_an_ngram_of_the_domain_lowers_the_word_error_rate(shipped):
    """The shipped model before any fine-tuning, greedy against beam search with a 3-gram of other commands."""
    module, items, _, _ = shipped
    generator = CommandGenerator(np.random.default_rng(123))
    texts = [normalize(generator.utterance().sentence, numbers="verbalize").split() for _ in range(2000)]
    decoder = BeamDecoder.with_ngram(module.tokenizer, NgramLM.train(texts, order=3), BeamSettings(alpha=0.5, beta=1.0))
    log_probs, _ = posteriors(module.model.eval(), module.tokenizer, items)
    refs = [(i.id, i.text) for i in items]
    greedy, fused = (
        error_rates((*ref, hyp) for ref, hyp in zip(refs, hyps, strict=True))
        for hyps in (greedy_transcripts(module.tokenizer, log_probs), decoder.decode(log_probs))
    )
    assert fused["wer"] < 0.6 * greedy["wer"], (greedy, fused)


def test_union_vocabulary_keeps_the_trained_lm_head_rows(shipped):
    module, _, vocab, old_vocab = shipped
    trained = load_file(ASSET / "model.safetensors")
    old_ids = pretrained_tokens(old_vocab)
    shared = [t for t in vocab if t in old_ids]
    assert len(shared) == len(old_ids) >= 90  # every Vietnamese letter and tone-marked vowel
    for token in shared:
        assert torch.equal(module.model.lm_head.weight[vocab[token]], trained["lm_head.weight"][old_ids[token]])
