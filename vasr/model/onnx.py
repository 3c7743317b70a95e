"""``vasr-export-onnx MODEL OUT`` (``python -m vasr.model.onnx``): the network as ONNX, dynamic batch and length.

MODEL is an export folder, a ``.ckpt`` or a hub id. OUT receives ``model.onnx`` (input
``input_values``: float32 (batch, samples) of standardised 16 kHz audio; output ``logits``:
(batch, frames, vocabulary)), the processor files (``vocab.json``, ...) and, when MODEL has
one, its ``language_model/``. torch's dynamo exporter is used: the older TorchScript tracer
mis-exports wav2vec2's weight-normed positional convolution (README, ONNX).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import torch
from transformers import Wav2Vec2ForCTC

from vasr.audio import SAMPLE_RATE
from vasr.console import quiet_libraries
from vasr.decoding.beam import ALPHABET_FILE, LM_DIR, SETTINGS_FILE
from vasr.model.export import load_for_inference, processor_for

MAX_SECONDS = 600  # longest input the exported graph accepts; longer audio goes through vasr.infer.transcribe's chunks


class LogitsOnly(torch.nn.Module):
    """The model's logits as a plain tensor output."""

    def __init__(self, model: Wav2Vec2ForCTC) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_values: torch.Tensor) -> torch.Tensor:
        return self.model(input_values).logits


def export_onnx(source: str | Path, out: str | Path) -> Path:
    """Write ``out/model.onnx`` and what decoding it needs; returns the ONNX file."""
    model, tokenizer = load_for_inference(source)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    batch = torch.export.Dim("batch", max=1024)
    samples = torch.export.Dim("samples", min=400, max=SAMPLE_RATE * MAX_SECONDS)
    program = torch.onnx.export(
        LogitsOnly(model).eval(),
        (torch.randn(2, 32000),),
        input_names=["input_values"],
        output_names=["logits"],
        dynamic_shapes={"input_values": {0: batch, 1: samples}},
        dynamo=True,
        verbose=False,
    )
    program.save(str(out / "model.onnx"))
    processor_for(tokenizer, model.config).save_pretrained(out)
    model.config.save_pretrained(out)
    source = Path(source)
    if (source / LM_DIR).is_dir():
        shutil.copytree(source / LM_DIR, out / LM_DIR, dirs_exist_ok=True)
        for name in (ALPHABET_FILE, SETTINGS_FILE):
            if (source / name).exists():
                shutil.copyfile(source / name, out / name)
    return out / "model.onnx"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="vasr-export-onnx", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model", help="export folder, .ckpt file or hub id")
    parser.add_argument("out", help="folder to write model.onnx and the processor into")
    args = parser.parse_args(argv)
    quiet_libraries()
    print(export_onnx(args.model, args.out))


if __name__ == "__main__":
    main()
