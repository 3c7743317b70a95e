import json
import sys
from pathlib import Path

import pytest
import torch

from vasr.decoding.beam import BeamDecoder, BeamSettings, arpa_unigrams
from vasr.decoding.ngram import NgramLM
from vasr.decoding.tune import tune
from vasr.text.vocab import PAD, build_vocab, make_tokenizer, save_vocab

SAID = "bật đèn phòng khách"
HEARD_AS = "bạt đèn phòng khách"  # one tone mark the acoustics get slightly wrong


@pytest.fixture
def tokenizer(tmp_path):
    return make_tokenizer(save_vocab(build_vocab("corpus", [SAID, HEARD_AS]), tmp_path))


def frames(tokenizer, text: str, confusion: dict[int, tuple[str, float]] | None = None) -> torch.Tensor:
    """Log-probabilities spelling ``text``, a blank after each character; ``confusion`` puts a rival
    character at some positions with the given probability (above the true one's)."""
    vocab = tokenizer.get_vocab()
    rows = []
    for index, char in enumerate(text.replace(" ", "|")):
        row = torch.full((len(vocab),), 1e-4)
        if confusion and index in confusion:
            rival, p = confusion[index]
            row[vocab[rival]], row[vocab[char]] = p, 1 - p
        else:
            row[vocab[char]] = 1.0
        blank = torch.full((len(vocab),), 1e-4)
        blank[vocab[PAD]] = 1.0
        rows += [row, blank]
    return torch.log(torch.stack(rows) / torch.stack(rows).sum(-1, keepdim=True))


def test_without_a_language_model_beam_search_matches_greedy(tokenizer):
    log_probs = [frames(tokenizer, SAID), frames(tokenizer, SAID, {1: ("ạ", 0.6)})]
    greedy = tokenizer.batch_decode([row.argmax(-1).tolist() for row in log_probs])
    assert BeamDecoder(tokenizer).decode(log_probs) == greedy == [SAID, HEARD_AS]


def test_language_model_overrules_a_close_acoustic_call(tokenizer):
    ngram = NgramLM.train([SAID.split()] * 5 + [["tắt", "đèn"]], order=3)
    heard = [frames(tokenizer, SAID, {1: ("ạ", 0.6)})]
    assert BeamDecoder.with_ngram(tokenizer, ngram, BeamSettings(alpha=0.0, beta=0.0)).decode(heard) == [HEARD_AS]
    assert BeamDecoder.with_ngram(tokenizer, ngram, BeamSettings(alpha=1.0, beta=0.0)).decode(heard) == [SAID]


def test_hotwords_rescue_a_word_without_a_language_model(tokenizer):
    heard = [frames(tokenizer, SAID, {1: ("ạ", 0.6)})]
    assert BeamDecoder(tokenizer).decode(heard, hotwords=["bật"], hotword_weight=5.0) == [SAID]


def test_word_frames_follow_the_spelling(tokenizer):
    words = BeamDecoder(tokenizer).words(frames(tokenizer, SAID))
    assert [w for w, _, _ in words] == SAID.split()
    starts = [start for _, start, _ in words]
    assert starts == sorted(starts) and starts[0] == 0 and all(s <= e for _, s, e in words)
    assert starts[1] == 2 * len("bật|")  # two frames per character, one of them blank


def test_tuning_picks_the_weights_with_the_lowest_wer_and_reports_every_point(tokenizer):
    ngram = NgramLM.train([SAID.split()] * 5, order=2)
    heard = [frames(tokenizer, SAID, {1: ("ạ", 0.6)})] * 2
    base = BeamDecoder.with_ngram(tokenizer, ngram, BeamSettings())
    decoder, rows = tune(base, heard, [SAID] * 2, [0.0, 1.0], [0.0])
    assert decoder.settings.alpha == 1.0
    assert [(r["alpha"], r["wer"]) for r in rows] == [(0.0, 0.25), (1.0, 0.0)]
    fixed, none = tune(base, heard, [SAID] * 2, [0.7], [1.5])  # one point: set, nothing decoded
    assert (fixed.settings.alpha, fixed.settings.beta, none) == (0.7, 1.5, [])


def test_saved_decoder_loads_back_from_a_model_folder(tokenizer, tmp_path):
    assert BeamDecoder.load(tmp_path, tokenizer) is None
    ngram = NgramLM.train([SAID.split()], order=2)
    decoder = BeamDecoder.with_ngram(tokenizer, ngram, BeamSettings(0.7, 1.5, -2.0, 8))
    folder = decoder.save(tmp_path, val_wer=0.1)
    assert sorted(p.name for p in folder.iterdir()) == ["attrs.json", "lm.arpa", "unigrams.txt"]
    assert json.loads((tmp_path / "vasr_decoding.json").read_text())["val_wer"] == 0.1
    loaded = BeamDecoder.load(tmp_path, tokenizer)
    assert loaded.settings == decoder.settings and set(loaded.unigrams) == ngram.vocab
    heard = [frames(tokenizer, SAID, {1: ("ạ", 0.6)})]
    assert loaded.decode(heard) == decoder.decode(heard)


def test_an_arpa_kenlm_wrote_gives_the_decoder_its_words(tokenizer):
    """pyctcdecode's test data: an ARPA file made by KenLM's lmplz, not by vasr (decode.lm=/path/lm.arpa)."""
    path = Path(__file__).parent / "data" / "bugs_bunny_kenlm.arpa"
    assert arpa_unigrams(path) == ["bugs", "bunny"]  # not <unk>, <s>, </s>
    assert BeamDecoder(tokenizer, path).unigrams == ["bugs", "bunny"]


def test_a_vasr_arpa_scores_alike_in_vasr_and_in_kenlm(tmp_path):
    kenlm = pytest.importorskip("kenlm")
    ngram = NgramLM.train([SAID.split(), HEARD_AS.split(), ["tắt", "đèn", "phòng", "ngủ"]], order=3)
    theirs = kenlm.Model(str(ngram.to_arpa(tmp_path / "lm.arpa")))
    for sentence in [SAID, "tắt đèn phòng khách", "phòng khách bật", "quạt"]:
        assert ngram.sentence_logprob(sentence.split()) == pytest.approx(theirs.score(sentence), abs=1e-4)


def test_without_ctc_beam_decoder_pyctcdecode_searches_alike(tokenizer, monkeypatch):
    """Where ctc-beam-decoder's wheel cannot load (glibc < 2.35), pyctcdecode does the same search."""
    pytest.importorskip("pyctcdecode")
    pytest.importorskip("kenlm")
    ngram = NgramLM.train([SAID.split()] * 5 + [["tắt", "đèn"]], order=3)
    heard = [frames(tokenizer, SAID, {1: ("ạ", 0.6)}), frames(tokenizer, "đèn phòng")]
    native = BeamDecoder.with_ngram(tokenizer, ngram, BeamSettings(alpha=1.0, beta=0.0))
    monkeypatch.setitem(sys.modules, "ctc_beam_decoder", None)  # import now raises ImportError
    fallback = BeamDecoder.with_ngram(tokenizer, ngram, BeamSettings(alpha=1.0, beta=0.0))
    assert type(fallback._search).__module__.startswith("pyctcdecode")
    assert fallback.decode(heard) == native.decode(heard) == [SAID, "đèn phòng"]
    assert [w for w, _, _ in fallback.words(heard[0])] == [w for w, _, _ in native.words(heard[0])]
