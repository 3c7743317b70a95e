"""An ONNX export run by onnxruntime where vasr runs a transformers CTC model.

:class:`OnnxCTC` takes the call shape the transcriber and the scorers use (``model.eval().to(device)``,
``model.config``, ``model(**inputs).logits``), so an export folder's ``model.onnx`` or ``model.int8.onnx``
drops in for the torch model. Its inputs are made by the folder's own feature extractor
(:func:`vasr.model.export.load_features`), as the torch model's are.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from transformers import AutoConfig, Wav2Vec2CTCTokenizer
from transformers.modeling_outputs import CausalLMOutput

from vasr.audio import SAMPLE_RATE, load_audio
from vasr.data.features import AudioFeatures
from vasr.data.index import Item
from vasr.decoding.ctc import cut_log_probs, greedy_transcripts
from vasr.model.export import load_features
from vasr.model.family import family_of

MODEL_FILE = "model.onnx"
NUMPY_TYPES = {"tensor(float)": np.float32, "tensor(int32)": np.int32, "tensor(int64)": np.int64}
PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}


class OnnxCTC:
    """``folder/model_file`` in an onnxruntime session, called like a transformers ``*ForCTC`` model: named input
    tensors in, an output whose ``.logits`` is a (batch, frames, vocabulary) CPU tensor.

    A graph without an ``attention_mask`` input (the waveform families export none) reads each row of a padded
    batch alone, cut to the length its mask gives: what the mask means to the torch model, so a padded batch
    never changes a row's output. ``threads`` sets onnxruntime's intra-op threads (None: its default)."""

    def __init__(self, folder: str | Path, model_file: str = MODEL_FILE, threads: int | None = None) -> None:
        self.folder = Path(folder)
        self.path = self.folder / model_file
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: no such ONNX file (vasr-export-onnx writes {MODEL_FILE})")
        self.config = AutoConfig.from_pretrained(self.folder)
        self.features: AudioFeatures = load_features(self.folder, self.config)
        self.threads = threads
        self.session = self.open("cpu")

    def open(self, device: str) -> ort.InferenceSession:
        provider = PROVIDERS.get(device)
        if provider not in ort.get_available_providers():
            raise ValueError(
                f"{self.path}: onnxruntime here has no provider for {device!r} "
                f"(it has {', '.join(ort.get_available_providers())}); run it on the CPU"
            )
        options = ort.SessionOptions()
        if self.threads:
            options.intra_op_num_threads = self.threads
        return ort.InferenceSession(str(self.path), options, providers=[provider])

    def eval(self) -> OnnxCTC:
        return self

    def to(self, device: str | torch.device) -> OnnxCTC:
        """The session on ``device``'s provider (the CPU, or CUDA where onnxruntime-gpu is installed)."""
        kind = torch.device(device).type
        if PROVIDERS.get(kind) not in self.session.get_providers():
            self.session = self.open(kind)
        return self

    @property
    def input_types(self) -> dict[str, type]:
        return {node.name: NUMPY_TYPES[node.type] for node in self.session.get_inputs()}

    def __call__(self, **inputs: torch.Tensor) -> CausalLMOutput:
        types = self.input_types
        mask = inputs.get("attention_mask")
        if mask is not None and "attention_mask" not in types and not bool(mask.all()):
            return CausalLMOutput(logits=self.rows_alone(inputs, mask))
        feeds = {name: inputs[name].detach().cpu().numpy().astype(kind) for name, kind in types.items()}
        return CausalLMOutput(logits=torch.from_numpy(self.session.run(["logits"], feeds)[0]))

    def rows_alone(self, inputs: dict[str, torch.Tensor], mask: torch.Tensor) -> torch.Tensor:
        """Each row's logits from its unpadded input, padded back to the batch's frames with zeros (frames past a
        row's length, which the scorers cut off)."""
        family = family_of(self.config)
        rows = []
        for row, length in enumerate(mask.sum(dim=1).tolist()):
            alone = {name: value[row : row + 1, :length] for name, value in inputs.items() if name != "attention_mask"}
            rows.append(self(**alone).logits[0])
        frames = family.frames(mask.shape[1])
        padded = torch.zeros(len(rows), frames, rows[0].shape[-1])
        for row, logits in enumerate(rows):
            padded[row, : len(logits)] = logits
        return padded


def greedy_transcript(model: OnnxCTC, tokenizer: Wav2Vec2CTCTokenizer, samples: np.ndarray) -> tuple[str, float]:
    """One waveform alone (batch 1, unpadded: as sherpa-onnx reads a stream), greedy-decoded, and the seconds the
    model's call took (the input's making and the decoding not counted)."""
    inputs = model.features([samples])
    start = time.perf_counter()
    logits = model(**inputs).logits
    seconds = time.perf_counter() - start
    frames = family_of(model.config).frames(len(samples))
    return greedy_transcripts(tokenizer, cut_log_probs(logits, [frames]))[0], seconds


def read_audio(items: list[Item]) -> list[np.ndarray]:
    """The items' 16 kHz waveforms, read once, so that a timed pass times the model only."""
    return [load_audio(item.path, SAMPLE_RATE) for item in items]
