"""An export's language model in the ecosystem: pyctcdecode and transformers load it and decode alike."""

from pathlib import Path

import numpy as np
import pytest
from transformers import Wav2Vec2CTCTokenizer, Wav2Vec2FeatureExtractor, Wav2Vec2ForCTC

from tests.upstream import reader_works
from vasr import ASSETS
from vasr.audio import SAMPLE_RATE
from vasr.data.manifest import read_manifest
from vasr.decoding.beam import BeamDecoder, BeamSettings
from vasr.decoding.metrics import error_rates
from vasr.decoding.ngram import NgramLM
from vasr.infer.posteriors import posteriors
from vasr.model.export import export_folder

pyctcdecode = pytest.importorskip("pyctcdecode")  # installed without its numpy<2 pin (README)
pytest.importorskip("kenlm")


def wer(items, hyps) -> float:
    return error_rates((i.id, i.text, h) for i, h in zip(items, hyps, strict=True))["wer"]


OPTIONS = {"beam_width": 32, "token_min_logp": -5.0}
ARPA = Path(__file__).parent / "data" / "bugs_bunny_kenlm.arpa"  # pyctcdecode's test data, made by KenLM's lmplz


@pytest.fixture(scope="module")
def export_with_lm(corpus, tmp_path_factory):
    """The shipped model exported with a trigram of the corpus, its items, tokenizer and log-probabilities."""
    asset = ASSETS / "vasr-tiny-vi"
    model, tokenizer = Wav2Vec2ForCTC.from_pretrained(asset).eval(), Wav2Vec2CTCTokenizer.from_pretrained(asset)
    export = export_folder(model, tokenizer, tmp_path_factory.mktemp("interop") / "export")
    items, _ = read_manifest(corpus / "manifest.jsonl", corpus / "audio", numbers="verbalize")
    ngram = NgramLM.train([i.text.split() for i in items], order=3)
    BeamDecoder.with_ngram(tokenizer, ngram, BeamSettings(alpha=0.5, beta=1.0)).save(export)
    log_probs, _ = posteriors(model, tokenizer, items)
    return export, items, tokenizer, log_probs


def test_export_lm_loads_in_pyctcdecode_and_decodes_as_vasr_does(export_with_lm):
    export, items, tokenizer, log_probs = export_with_lm
    ours = BeamDecoder.load(export, tokenizer).decode(log_probs)
    theirs = pyctcdecode.BeamSearchDecoderCTC.load_from_dir(str(export))
    by_pyctcdecode = [theirs.decode(lp.numpy(), **OPTIONS) for lp in log_probs]
    greedy = tokenizer.batch_decode([lp.argmax(-1).tolist() for lp in log_probs])
    assert wer(items, ours) < wer(items, greedy)  # the LM helps
    assert abs(wer(items, ours) - wer(items, by_pyctcdecode)) <= 0.005


def processor_with_lm_reads_its_own_folder(tokenizer, folder: Path) -> None:
    """transformers' ``Wav2Vec2ProcessorWithLM`` saved by transformers itself (KenLM's own ARPA), then loaded."""
    from transformers import Wav2Vec2ProcessorWithLM

    labels = [token for token, _ in sorted(tokenizer.get_vocab().items(), key=lambda pair: pair[1])]
    decoder = pyctcdecode.build_ctcdecoder(labels, kenlm_model_path=str(ARPA))
    Wav2Vec2ProcessorWithLM(Wav2Vec2FeatureExtractor(), tokenizer, decoder).save_pretrained(folder)
    Wav2Vec2ProcessorWithLM.from_pretrained(folder)


def test_export_lm_loads_in_transformers_processor_with_lm_and_decodes_as_vasr_does(export_with_lm, tmp_path):
    from transformers import Wav2Vec2ProcessorWithLM

    export, items, tokenizer, log_probs = export_with_lm
    reader_works("transformers", lambda: processor_with_lm_reads_its_own_folder(tokenizer, tmp_path / "own"))
    processor = Wav2Vec2ProcessorWithLM.from_pretrained(export)
    by_transformers = [processor.decode(lp.numpy().astype(np.float32), **OPTIONS).text for lp in log_probs]
    ours = BeamDecoder.load(export, tokenizer).decode(log_probs)
    assert abs(wer(items, ours) - wer(items, by_transformers)) <= 0.005


def pipeline_decodes_its_own_folder(folder: Path) -> None:
    """transformers' ASR pipeline on a model transformers saved itself, with a decoder of KenLM's own ARPA."""
    from transformers import pipeline

    asset = ASSETS / "vasr-tiny-vi"
    Wav2Vec2ForCTC.from_pretrained(asset).save_pretrained(folder)
    tokenizer = Wav2Vec2CTCTokenizer.from_pretrained(asset)
    tokenizer.save_pretrained(folder)
    Wav2Vec2FeatureExtractor().save_pretrained(folder)
    labels = [token for token, _ in sorted(tokenizer.get_vocab().items(), key=lambda pair: pair[1])]
    decoder = pyctcdecode.build_ctcdecoder(labels, kenlm_model_path=str(ARPA))
    asr = pipeline("automatic-speech-recognition", model=str(folder), decoder=decoder)
    asr({"raw": np.zeros(SAMPLE_RATE, np.float32), "sampling_rate": SAMPLE_RATE})


def test_the_transformers_pipeline_decodes_with_the_exports_lm_given_as_its_decoder(export_with_lm, tmp_path):
    """docs/decoding.md's transformers path: 16 kHz arrays (a path needs ffmpeg, other rates torchaudio), the
    export's decoder passed in (the export's processor is the plain one, so the pipeline alone decodes greedy)."""
    import soundfile as sf
    from transformers import pipeline

    export, items, _, log_probs = export_with_lm
    reader_works("transformers", lambda: pipeline_decodes_its_own_folder(tmp_path / "own"))
    decoder = pyctcdecode.BeamSearchDecoderCTC.load_from_dir(str(export))
    asr = pipeline("automatic-speech-recognition", model=str(export), decoder=decoder)
    assert asr.type == "ctc_with_lm"
    for item, lp in zip(items[:4], log_probs[:4], strict=True):
        audio, rate = sf.read(item.path, dtype="float32")
        assert asr({"raw": audio, "sampling_rate": rate})["text"] == decoder.decode(lp.numpy())
