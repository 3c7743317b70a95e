"""The network as ONNX: onnxruntime on the CPU gives PyTorch's logits and transcripts."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from tests.conftest import ROOT
from tests.families import save_tiny_checkpoint
from vasr import ASSETS
from vasr.audio import SAMPLE_RATE, load_audio, standardize
from vasr.data.manifest import read_manifest
from vasr.model.export import load_features, load_for_inference
from vasr.model.onnx import export_onnx

ort = pytest.importorskip("onnxruntime")


def test_onnx_logits_and_greedy_transcripts_match_pytorch(corpus, tmp_path):
    asset = ASSETS / "vasr-tiny-vi"
    subprocess.run([sys.executable, "-m", "vasr.model.onnx", str(asset), str(tmp_path)], cwd=ROOT, check=True)
    assert {"model.onnx", "vocab.json", "config.json", "processor_config.json"} <= {p.name for p in tmp_path.iterdir()}
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    model, tokenizer = load_for_inference(asset)
    items, _ = read_manifest(corpus / "manifest.jsonl", corpus / "audio")
    ours, theirs = [], []
    for item in items:  # batch 1, each utterance its own length: the dynamic axis
        audio = standardize(load_audio(item.path))[None, :].astype(np.float32)
        onnx_logits = session.run(None, {"input_values": audio})[0]
        with torch.inference_mode():
            torch_logits = model(torch.from_numpy(audio)).logits.numpy()
        assert np.allclose(onnx_logits, torch_logits, atol=1e-3, rtol=1e-3)
        ours.append(onnx_logits[0].argmax(-1).tolist())
        theirs.append(torch_logits[0].argmax(-1).tolist())
    two = np.stack([standardize(load_audio(i.path))[:16000] for i in items[:2]]).astype(np.float32)
    assert session.run(None, {"input_values": two})[0].shape[0] == 2  # the dynamic batch
    assert tokenizer.batch_decode(ours) == tokenizer.batch_decode(theirs)


def test_w2v_bert_exports_through_the_tracer_with_dynamic_batch_length_and_padding(tmp_path):
    """dynamo cannot export w2v-BERT's attention over a symbolic length; the TorchScript tracer gives its logits."""
    checkpoint = save_tiny_checkpoint("wav2vec2-bert", tmp_path / "pretrained")
    session = ort.InferenceSession(str(export_onnx(checkpoint, tmp_path / "onnx")), providers=["CPUExecutionProvider"])
    model, _ = load_for_inference(checkpoint)
    features = load_features(tmp_path / "onnx", model.config)  # the processor the ONNX folder ships
    noise = np.random.default_rng(0).standard_normal(3 * SAMPLE_RATE).astype(np.float32)
    for batch in ([noise[:SAMPLE_RATE]], [noise, noise[: SAMPLE_RATE // 2]]):  # lengths unlike the traced example
        inputs = features(batch)
        theirs = session.run(None, {name: tensor.numpy() for name, tensor in inputs.items()})[0]
        with torch.inference_mode():
            ours = model(**inputs).logits.numpy()
        assert theirs.shape == ours.shape and np.allclose(theirs, ours, atol=1e-4, rtol=1e-3)
