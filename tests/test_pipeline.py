"""The decoder a run's ``decode`` config asks for (vasr.pipeline.lm_decoder)."""

import pytest
from omegaconf import OmegaConf

from vasr.data.manifest import Item
from vasr.lm.beam import BeamDecoder, BeamSettings
from vasr.lm.ngram import NgramLM
from vasr.pipeline import lm_decoder
from vasr.text.vocab import build_vocab, make_tokenizer, save_vocab

TEXTS = ["bật đèn phòng khách", "tắt quạt phòng ngủ"]


def items(texts: list[str]) -> list[Item]:
    return [Item(id=str(i), text=t, path="x.wav", duration=1.0, line=i + 1) for i, t in enumerate(texts)]


def decode(**values):
    base = {"lm": "train", "order": 2, "alpha": 0.7, "beta": 1.5, "unk_offset": -2.0, "beam_width": 8}
    search = {"token_min_logp": -5.0, "top_k": 4, "grid": {"alpha": [0.5], "beta": [1.0]}}
    return OmegaConf.create(base | search | values)


@pytest.fixture
def tokenizer(tmp_path):
    return make_tokenizer(save_vocab(build_vocab("corpus", TEXTS), tmp_path))


def test_given_weights_need_no_tuning(tokenizer, tmp_path):
    splits = {"train": items(TEXTS), "val": items(TEXTS), "test": []}
    decoder, tuned = lm_decoder(decode(), None, tokenizer, splits, tmp_path)
    assert decoder.ngram.vocab == {w for t in TEXTS for w in t.split()} and decoder.ngram.order == 2
    assert decoder.settings == BeamSettings(0.7, 1.5, -2.0, 8, -5.0, 4) and tuned == {}
    assert not (tmp_path / "lm_tuning.csv").exists()


def test_arpa_file_auto_folder_and_greedy(tokenizer, tmp_path):
    splits = {"train": [], "val": [], "test": []}
    arpa = NgramLM.train([t.split() for t in TEXTS], order=3).to_arpa(tmp_path / "corpus.arpa")
    decoder, _ = lm_decoder(decode(lm=str(arpa)), None, tokenizer, splits, tmp_path)
    assert decoder.ngram.order == 3
    assert lm_decoder(decode(lm="auto"), None, tokenizer, splits, tmp_path, model_dir=tmp_path) == (None, {})
    BeamDecoder(tokenizer, decoder.ngram).save(tmp_path)
    assert lm_decoder(decode(lm="auto"), None, tokenizer, splits, tmp_path, model_dir=tmp_path)[0] is not None
    assert lm_decoder(decode(lm=None), None, tokenizer, splits, tmp_path) == (None, {})


def test_training_text_is_needed(tokenizer, tmp_path):
    with pytest.raises(ValueError, match="decode.lm=train needs a training split"):
        lm_decoder(decode(), None, tokenizer, {"train": [], "val": [], "test": []}, tmp_path)
