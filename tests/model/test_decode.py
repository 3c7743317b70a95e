import torch

from tests.conftest import MICRO_ARCHITECTURE
from vasr.model.build import build_from_config
from vasr.model.decode import cut_log_probs, greedy_transcripts
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
