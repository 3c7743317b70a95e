"""The network as ONNX: onnxruntime on the CPU gives PyTorch's logits and transcripts."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from tests.conftest import ROOT
from vasr import ASSETS
from vasr.audio import load_audio, standardize
from vasr.data.manifest import read_manifest
from vasr.model.export import load_for_inference

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
