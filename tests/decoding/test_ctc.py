import pytest
import torch

from tests.conftest import MICRO_ARCHITECTURE
from vasr.data.manifest import Item
from vasr.decoding.beam import BeamDecoder, BeamSettings
from vasr.decoding.config import DecodeConfig
from vasr.decoding.ctc import CTCDecoding, cut_log_probs, greedy_transcripts
from vasr.decoding.ngram import NgramLM
from vasr.model.build import build_from_config
from vasr.model.family import family_of
from vasr.recipe.evaluation import tune_lm
from vasr.recipe.run_folder import RunFolder
from vasr.text.vocab import PAD, build_vocab, make_tokenizer, save_vocab


def test_padding_frames_do_not_reach_the_hypothesis(tmp_path):
    vocab = build_vocab("corpus", ["ab"])
    tokenizer = make_tokenizer(save_vocab(vocab, tmp_path))
    model = build_from_config(MICRO_ARCHITECTURE, vocab, PAD)
    lengths = torch.tensor([16000, 8000])
    frames = [family_of(model.config).frames(n) for n in lengths.tolist()]
    logits = torch.full((2, frames[0], len(vocab)), -10.0)
    logits[:, :, vocab["a"]] = 10.0  # every frame says "a" ...
    logits[1, frames[1] :, :] = -10.0
    logits[1, frames[1] :, vocab["b"]] = 10.0  # ... and row 2's padding frames say "b"
    assert greedy_transcripts(tokenizer, cut_log_probs(logits, frames)) == ["a", "a"]


TEXTS = ["bật đèn phòng khách", "tắt quạt phòng ngủ"]


def items(texts: list[str]) -> list[Item]:
    return [Item(id=str(i), text=t, path="x.wav", duration=1.0, line=i + 1) for i, t in enumerate(texts)]


def decode_config(**values) -> DecodeConfig:
    beam = {"alpha": 0.7, "beta": 1.5, "unk_offset": -2.0, "beam_width": 8, "token_min_logp": -5.0, "top_k": 4}
    return DecodeConfig(**{"lm": "train", "order": 2, "beam": beam} | values)


@pytest.fixture
def tokenizer(tmp_path):
    return make_tokenizer(save_vocab(build_vocab("corpus", TEXTS), tmp_path))


def test_given_weights_need_no_tuning(tokenizer, tmp_path):
    cfg = decode_config()
    decoding = CTCDecoding.from_config(cfg, tokenizer, TEXTS)
    assert set(decoding.beam.unigrams) == {w for t in TEXTS for w in t.split()}
    arpa = decoding.beam.lm.read_text(encoding="utf-8")
    assert "\\2-grams:" in arpa and "\\3-grams:" not in arpa  # the order decode.order asked for
    assert decoding.beam.settings == BeamSettings(0.7, 1.5, -2.0, 8, -5.0, 4) and cfg.weight_grid is None
    assert tune_lm(None, decoding, cfg, items(TEXTS), 1, RunFolder(tmp_path)) == (decoding, {})
    assert not (tmp_path / "lm_tuning.csv").exists()


def test_one_config_nests_the_beam_once_and_checks_it(tokenizer, tmp_path):
    assert decode_config(tune={"alpha": [0.5, 1.0]}).weight_grid == ([0.5, 1.0], [1.5])
    assert decode_config(lm="auto", tune={"alpha": [0.5, 1.0]}).weight_grid is None  # a folder keeps its own
    with pytest.raises(ValueError, match="unknown settings"):
        DecodeConfig(lm="train", beam={"width": 4})
    with pytest.raises(ValueError, match="hotwords need beam search"):
        DecodeConfig(lm=None, hotwords=["quạt"])
    arpa = NgramLM.train([t.split() for t in TEXTS], order=2).to_arpa(tmp_path / "lm.arpa")
    BeamDecoder(tokenizer, arpa, BeamSettings(alpha=0.3)).save(tmp_path / "model")
    kept = CTCDecoding.from_config(DecodeConfig(lm="auto"), tokenizer, model_dir=tmp_path / "model")
    changed = CTCDecoding.from_config(
        DecodeConfig(lm="auto", beam={"beta": 2.5}), tokenizer, model_dir=tmp_path / "model"
    )
    assert (kept.beam.settings.alpha, changed.beam.settings.alpha, changed.beam.settings.beta) == (0.3, 0.3, 2.5)
    hot = CTCDecoding.from_config(DecodeConfig(lm="auto", hotwords=["quạt"]), tokenizer, model_dir=tmp_path)
    assert hot.beam is not None and hot.beam.lm is None and hot.hotwords == ["quạt"]  # a beam without an n-gram


def test_words_come_with_frames_greedy_and_beam(tokenizer):
    vocab = tokenizer.get_vocab()
    path = [vocab[c] for c in "bật|||đèn"]
    log_probs = torch.full((len(path), len(vocab)), -20.0)
    log_probs[torch.arange(len(path)), torch.tensor(path)] = 0.0
    greedy = CTCDecoding(tokenizer).words(log_probs)
    beam = CTCDecoding(tokenizer, BeamDecoder(tokenizer)).words(log_probs)
    assert [w for w, _, _ in greedy] == [w for w, _, _ in beam] == ["bật", "đèn"]
    assert greedy[1][1] == beam[1][1] == 6


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
