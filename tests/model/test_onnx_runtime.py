"""OnnxCTC: an ONNX export where vasr runs a torch CTC model, with the same transcripts."""

import numpy as np
import pytest
import torch

from vasr import ASSETS
from vasr.audio import SAMPLE_RATE
from vasr.data.manifest import read_manifest
from vasr.decoding.ctc import CTCDecoding, greedy_transcripts
from vasr.infer.posteriors import posteriors
from vasr.infer.transcriber import Transcriber
from vasr.model.export import load_features, load_for_inference
from vasr.model.onnx import export_onnx
from vasr.model.onnx_runtime import OnnxCTC

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory):
    """vasr-tiny-vi's export folder with model.onnx."""
    return export_onnx(ASSETS / "vasr-tiny-vi", tmp_path_factory.mktemp("onnx")).parent


def test_an_export_drops_in_for_the_torch_model_in_posteriors_and_the_transcriber(corpus, tiny_onnx):
    folder = tiny_onnx
    model, tokenizer = load_for_inference(ASSETS / "vasr-tiny-vi")
    onnx = OnnxCTC(folder)
    assert onnx.config.vocab_size == model.config.vocab_size
    items, _ = read_manifest(corpus / "manifest.jsonl", corpus / "audio")
    items = list(items)[:8]
    features = load_features(folder, model.config)
    ours, _ = posteriors(onnx, tokenizer, items, device="cpu", features=features)
    theirs, _ = posteriors(model, tokenizer, items, device="cpu", features=features)
    assert all(torch.allclose(a, b, atol=1e-3) for a, b in zip(ours, theirs, strict=True))
    assert greedy_transcripts(tokenizer, ours) == greedy_transcripts(tokenizer, theirs)
    decoding = CTCDecoding(tokenizer)
    read_by_onnx = Transcriber(onnx, decoding, device="cpu", features=features)(items[0].path)
    assert read_by_onnx.text == Transcriber(model, decoding, device="cpu", features=features)(items[0].path).text
    assert read_by_onnx.words  # word times from the same frames


def test_a_padded_batch_reads_each_row_unpadded_where_the_graph_takes_no_mask(tiny_checkpoints, tmp_path):
    """The waveform families export no attention_mask input: a masked row is read alone, as the mask means."""
    folder = export_onnx(tiny_checkpoints["wav2vec2"], tmp_path).parent
    onnx = OnnxCTC(folder)
    assert "attention_mask" not in onnx.input_types and onnx.features.attention_mask
    noise = np.random.default_rng(0).standard_normal(2 * SAMPLE_RATE).astype(np.float32)
    batch = onnx.features([noise, noise[: SAMPLE_RATE // 2]])
    logits = onnx(**batch).logits
    alone = onnx(**onnx.features([noise[: SAMPLE_RATE // 2]])).logits[0]
    assert logits.shape[:2] == (2, len(onnx(**onnx.features([noise])).logits[0]))
    assert torch.allclose(logits[1, : len(alone)], alone, atol=1e-5)
    assert not logits[1, len(alone) :].any()  # past the row's own frames: zeros, which scorers cut off


def test_a_device_without_an_onnxruntime_provider_is_refused_naming_those_there_are(tiny_onnx):
    onnx = OnnxCTC(tiny_onnx)
    assert onnx.eval().to("cpu") is onnx
    if "CUDAExecutionProvider" not in onnx.session.get_providers():
        with pytest.raises(ValueError, match="CPUExecutionProvider"):
            onnx.to("cuda")
