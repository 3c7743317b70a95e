import pytest
import torch

from tests.conftest import MICRO_ARCHITECTURE
from vasr.data.manifest import Item
from vasr.decoding.beam import BeamDecoder, BeamSettings
from vasr.decoding.ctc import CTCDecoding, DecodeConfig, cut_log_probs, greedy_transcripts
from vasr.decoding.ngram import NgramLM
from vasr.model.build import build_from_config
from vasr.recipe.evaluation import tune_lm
from vasr.text.vocab import PAD, build_vocab, make_tokenizer, save_vocab


def test_padding_frames_do_not_reach_the_hypothesis(tmp_path):
    vocab = build_vocab("corpus", ["ab"])
    tokenizer = make_tokenizer(save_vocab(vocab, tmp_path))
    model = build_from_config(MICRO_ARCHITECTURE, vocab, PAD)
    lengths = torch.tensor([16000, 8000])
    frames = model._get_feat_extract_output_lengths(lengths).tolist()
    logits = torch.full((2, frames[0], len(vocab)), -10.0)
    logits[:, :, vocab["a"]] = 10.0  # every frame says "a" ...
    logits[1, frames[1] :, :] = -10.0
    logits[1, frames[1] :, vocab["b"]] = 10.0  # ... and row 2's padding frames say "b"
    assert greedy_transcripts(tokenizer, cut_log_probs(model, logits, lengths)) == ["a", "a"]


TEXTS = ["bật đèn phòng khách", "tắt quạt phòng ngủ"]


def items(texts: list[str]) -> list[Item]:
    return [Item(id=str(i), text=t, path="x.wav", duration=1.0, line=i + 1) for i, t in enumerate(texts)]


def decode_config(**values) -> DecodeConfig:
    base = {"lm": "train", "order": 2, "alpha": 0.7, "beta": 1.5, "unk_offset": -2.0, "beam_width": 8}
    return DecodeConfig(**base | {"token_min_logp": -5.0, "top_k": 4} | values)


@pytest.fixture
def tokenizer(tmp_path):
    return make_tokenizer(save_vocab(build_vocab("corpus", TEXTS), tmp_path))


def test_given_weights_need_no_tuning(tokenizer, tmp_path):
    cfg = decode_config()
    decoding = CTCDecoding.from_config(cfg, tokenizer, TEXTS)
    assert set(decoding.beam.unigrams) == {w for t in TEXTS for w in t.split()}
    assert NgramLM.from_arpa(decoding.beam.lm).order == 2
    assert decoding.beam.settings == BeamSettings(0.7, 1.5, -2.0, 8, -5.0, 4) and not cfg.needs_tuning
    assert tune_lm(None, decoding, cfg, items(TEXTS), 1, tmp_path) == (decoding, {})
    assert not (tmp_path / "lm_tuning.csv").exists()


def test_arpa_file_auto_folder_and_greedy(tokenizer, tmp_path):
    arpa = NgramLM.train([t.split() for t in TEXTS], order=3).to_arpa(tmp_path / "corpus.arpa")
    assert CTCDecoding.from_config(decode_config(lm=str(arpa)), tokenizer).beam.lm == arpa
    assert CTCDecoding.from_config(decode_config(lm="auto"), tokenizer, model_dir=tmp_path).beam is None
    BeamDecoder(tokenizer, arpa).save(tmp_path)
    assert CTCDecoding.from_config(decode_config(lm="auto"), tokenizer, model_dir=tmp_path).beam is not None
    assert CTCDecoding.from_config(decode_config(lm=None), tokenizer).beam is None


def test_training_text_is_needed(tokenizer):
    with pytest.raises(ValueError, match="decode.lm=train needs a training split"):
        CTCDecoding.from_config(decode_config(), tokenizer, [])
