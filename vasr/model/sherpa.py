"""What sherpa-onnx (the on-device runtime: Android, iOS, Raspberry Pi, WebAssembly) needs beside ``model.onnx``.

sherpa-onnx's raw-waveform CTC path is ``OfflineRecognizer.from_omnilingual_asr_ctc`` (C++
``OfflineOmnilingualAsrCtcModel``): it feeds the graph's one input the 16 kHz samples of a stream,
standardised over the whole utterance by itself (``(x - mean) / sqrt(var + 1e-5)``; vasr's
``Wav2Vec2FeatureExtractor`` uses 1e-7: no transcript of the demo test files changes), reads the vocabulary
size from the output's last axis and no metadata, and greedy-decodes with the id of ``<blk>`` in
``tokens.txt`` as the blank. Its other CTC entry points (``from_nemo_ctc``, ``from_zipformer_ctc``,
``from_wenet_ctc``, ``from_telespeech_ctc``, ``from_dolphin_ctc``) compute Kaldi filter banks or MFCCs
for the graph, which fit no waveform family. So the waveform families (wav2vec2, HuBERT, WavLM,
data2vec-audio) run as exported, with ``tokens.txt``: the CTC blank (the tokenizer's pad token) as
``<blk>`` and the word delimiter ``|`` as ``▁``, which sherpa-onnx turns into a space. What no tokens.txt
changes: sherpa-onnx keeps a trailing space (a delimiter on the last frames) that vasr's tokenizer strips, and
drops a ``</s>`` token that vasr writes out (tests/model/test_sherpa.py).
"""

from __future__ import annotations

from pathlib import Path

from transformers import PretrainedConfig, Wav2Vec2CTCTokenizer
from transformers.feature_extraction_utils import FeatureExtractionMixin

from vasr.model.family import family_of

TOKENS_FILE = "tokens.txt"
BLANK = "<blk>"  # the symbol sherpa-onnx's CTC decoders take the blank's id from
SPACE = "\u2581"  # sherpa-onnx's SymbolTable reads a leading ▁ as a space


class SherpaUnsupported(ValueError):
    """A model sherpa-onnx cannot run, with why."""


def sherpa_refusal(config: PretrainedConfig, extractor: FeatureExtractionMixin) -> str | None:
    """Why sherpa-onnx cannot run this model as exported, or None when it can."""
    family = family_of(config)
    if family.filterbank:
        return (
            f"a {family.model_type} model reads stacked 80-bin filter banks ({family.stacked_frames} frames a row, "
            "SeamlessM4TFeatureExtractor) with an attention mask; sherpa-onnx's waveform CTC path feeds raw samples "
            "and its filter-bank CTC paths compute Kaldi filter banks unstacked, so none makes this model's input"
        )
    if not getattr(extractor, "do_normalize", True):
        return (
            "this model was trained on unstandardised waveforms (its feature extractor's do_normalize is false); "
            "sherpa-onnx's waveform CTC path standardises every utterance, so it would feed the model other input"
        )
    return None


def tokens_text(tokenizer: Wav2Vec2CTCTokenizer, vocab_size: int) -> str:
    """``tokens.txt``: ``symbol id`` for each of the model's output ids, the blank as ``<blk>`` and the word
    delimiter as ``▁``. An id the tokenizer lacks gets its unknown token, as the tokenizer decodes it."""
    by_id = {index: token for token, index in tokenizer.get_vocab().items()}
    renamed = {tokenizer.pad_token: BLANK, tokenizer.word_delimiter_token: SPACE}
    lines = []
    for index in range(vocab_size):
        token = by_id.get(index, tokenizer.unk_token)
        symbol = renamed.get(token, token)
        if token not in renamed and symbol in (BLANK, SPACE):
            raise SherpaUnsupported(f"token {token!r} (id {index}) is spelt as sherpa-onnx's {symbol!r}")
        if not symbol or any(character.isspace() for character in symbol):
            raise SherpaUnsupported(f"token {token!r} (id {index}) holds white space, which tokens.txt cannot")
        lines.append(f"{symbol} {index}\n")
    return "".join(lines)


def write_tokens(tokenizer: Wav2Vec2CTCTokenizer, config: PretrainedConfig, folder: str | Path) -> Path:
    """``folder/tokens.txt`` for sherpa-onnx."""
    path = Path(folder) / TOKENS_FILE
    path.write_text(tokens_text(tokenizer, config.vocab_size), encoding="utf-8")
    return path
