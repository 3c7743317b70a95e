import csv
import json

import pytest
import torch

from vasr.lm.beam import BeamDecoder, BeamSettings
from vasr.lm.ngram import NgramLM
from vasr.lm.tune import tune
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
    assert BeamDecoder(tokenizer, ngram, BeamSettings(alpha=0.0, beta=0.0)).decode(heard) == [HEARD_AS]
    assert BeamDecoder(tokenizer, ngram, BeamSettings(alpha=1.0, beta=0.0)).decode(heard) == [SAID]


def test_tuning_picks_the_weights_with_the_lowest_wer_and_writes_the_grid(tokenizer, tmp_path):
    ngram = NgramLM.train([SAID.split()] * 5, order=2)
    heard = [frames(tokenizer, SAID, {1: ("ạ", 0.6)})] * 2
    decoder, rows = tune(tokenizer, ngram, heard, [SAID] * 2, [0.0, 1.0], [0.0], BeamSettings(), tmp_path / "grid.csv")
    assert decoder.settings.alpha == 1.0
    assert [(r["alpha"], r["wer"]) for r in rows] == [(0.0, 0.25), (1.0, 0.0)]
    assert len(list(csv.DictReader((tmp_path / "grid.csv").open()))) == 2


def test_saved_decoder_loads_back_from_a_model_folder(tokenizer, tmp_path):
    assert BeamDecoder.load(tmp_path, tokenizer) is None
    decoder = BeamDecoder(tokenizer, NgramLM.train([SAID.split()], order=2), BeamSettings(0.7, 1.5, -2.0, 8))
    folder = decoder.save(tmp_path, val_wer=0.1)
    assert json.loads((folder / "decoder.json").read_text())["val_wer"] == 0.1
    loaded = BeamDecoder.load(tmp_path, tokenizer)
    assert loaded.settings == decoder.settings
    heard = [frames(tokenizer, SAID, {1: ("ạ", 0.6)})]
    assert loaded.decode(heard) == decoder.decode(heard)
