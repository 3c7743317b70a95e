"""An export's language model in the ecosystem: pyctcdecode and transformers load it and decode alike."""

import numpy as np
import pytest
from transformers import Wav2Vec2CTCTokenizer, Wav2Vec2ForCTC

from vasr import ASSETS
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


def test_export_lm_loads_in_pyctcdecode_and_transformers_and_decodes_alike(corpus, tmp_path):
    from transformers import Wav2Vec2ProcessorWithLM

    asset = ASSETS / "vasr-tiny-vi"
    model, tokenizer = Wav2Vec2ForCTC.from_pretrained(asset).eval(), Wav2Vec2CTCTokenizer.from_pretrained(asset)
    export = export_folder(model, tokenizer, tmp_path / "export")
    items, _ = read_manifest(corpus / "manifest.jsonl", corpus / "audio", numbers="verbalize")
    ngram = NgramLM.train([i.text.split() for i in items], order=3)
    BeamDecoder.with_ngram(tokenizer, ngram, BeamSettings(alpha=0.5, beta=1.0)).save(export)
    log_probs, _ = posteriors(model, tokenizer, items)

    ours = BeamDecoder.load(export, tokenizer).decode(log_probs)
    theirs = pyctcdecode.BeamSearchDecoderCTC.load_from_dir(str(export))
    processor = Wav2Vec2ProcessorWithLM.from_pretrained(export)
    options = {"beam_width": 32, "token_min_logp": -5.0}
    by_pyctcdecode = [theirs.decode(lp.numpy(), **options) for lp in log_probs]
    by_transformers = [processor.decode(lp.numpy().astype(np.float32), **options).text for lp in log_probs]
    greedy = tokenizer.batch_decode([lp.argmax(-1).tolist() for lp in log_probs])
    assert wer(items, ours) < wer(items, greedy)  # the LM helps
    assert abs(wer(items, ours) - wer(items, by_pyctcdecode)) <= 0.005
    assert abs(wer(items, ours) - wer(items, by_transformers)) <= 0.005


def test_the_transformers_pipeline_decodes_with_the_exports_lm_given_as_its_decoder(corpus, tmp_path):
    """docs/decoding.md's transformers path: 16 kHz arrays (a path needs ffmpeg, other rates torchaudio), the
    export's decoder passed in (the export's processor is the plain one, so the pipeline alone decodes greedy)."""
    import soundfile as sf
    from transformers import pipeline

    asset = ASSETS / "vasr-tiny-vi"
    model, tokenizer = Wav2Vec2ForCTC.from_pretrained(asset).eval(), Wav2Vec2CTCTokenizer.from_pretrained(asset)
    export = export_folder(model, tokenizer, tmp_path / "export")
    items, _ = read_manifest(corpus / "manifest.jsonl", corpus / "audio", numbers="verbalize")
    BeamDecoder.with_ngram(tokenizer, NgramLM.train([i.text.split() for i in items], order=3), BeamSettings()).save(
        export
    )
    decoder = pyctcdecode.BeamSearchDecoderCTC.load_from_dir(str(export))
    asr = pipeline("automatic-speech-recognition", model=str(export), decoder=decoder)
    assert asr.type == "ctc_with_lm"
    log_probs, _ = posteriors(model, tokenizer, items[:4])
    for item, lp in zip(items[:4], log_probs, strict=True):
        audio, rate = sf.read(item.path, dtype="float32")
        assert asr({"raw": audio, "sampling_rate": rate})["text"] == decoder.decode(lp.numpy())
