"""``vasr-export-onnx MODEL OUT`` (``python -m vasr.model.onnx``): the network as ONNX, dynamic batch and length.

MODEL is an export folder, a ``.ckpt`` or a hub id. OUT receives ``model.onnx`` (inputs named
as the model's family says: ``input_values``, float32 (batch, samples) of standardised 16 kHz
audio, for the waveform families; ``input_features``, float32 (batch, frames, 160) stacked filter
banks, and ``attention_mask``, int32 (batch, frames) as its ``SeamlessM4TFeatureExtractor`` makes it,
for w2v-BERT; output ``logits``: (batch, frames, vocabulary)), the processor files (``vocab.json``, ...)
and, when MODEL has one, its ``language_model/``.

torch's dynamo exporter is used for the waveform families: the older TorchScript tracer mis-exports
wav2vec2's weight-normed positional convolution (README, ONNX). w2v-BERT goes through the TorchScript
tracer: dynamo cannot reshape its self-attention's heads over a symbolic length (torch 2.13: "Cannot
view a tensor ... as shape (s43, s53, 32)"), and w2v-BERT has no weight-normed convolution to mis-export.
"""

from __future__ import annotations

import argparse
import shutil
import warnings
from pathlib import Path

import torch
from transformers import PreTrainedModel

from vasr.audio import SAMPLE_RATE
from vasr.console import quiet_libraries
from vasr.decoding.beam import ALPHABET_FILE, LM_DIR, SETTINGS_FILE
from vasr.model.export import load_extractor, load_for_inference, processor_for
from vasr.model.family import FBANK_HOP, Family, family_of

MAX_SECONDS = 600  # longest input the exported graph accepts; longer audio goes through vasr.infer.transcribe's chunks
TRACED_FAMILIES = ("wav2vec2-bert",)  # exported by the TorchScript tracer: dynamo fails on them (module docstring)


class LogitsOnly(torch.nn.Module):
    """The model's logits as a plain tensor output, from its family's named inputs."""

    def __init__(self, model: PreTrainedModel) -> None:
        super().__init__()
        self.model = model
        self.input_name = family_of(model.config).input_name

    def forward(self, inputs: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.model(**{self.input_name: inputs}, attention_mask=attention_mask).logits


def example_inputs(family: Family) -> tuple[tuple[torch.Tensor, ...], dict[str, dict[int, torch.export.Dim]]]:
    """Two seconds of a batch of 2 in the family's inputs, and their dynamic axes (batch, and samples or frames),
    by :class:`LogitsOnly`'s argument names."""
    batch = torch.export.Dim("batch", max=1024)
    if not family.filterbank:
        samples = torch.export.Dim("samples", min=400, max=SAMPLE_RATE * MAX_SECONDS)
        return (torch.randn(2, 32000),), {"inputs": {0: batch, 1: samples}}
    frames = torch.export.Dim("frames", min=8, max=SAMPLE_RATE * MAX_SECONDS // (FBANK_HOP * family.stacked_frames))
    width = family.config.feature_projection_input_dim
    axes = {0: batch, 1: frames}
    return (torch.randn(2, 100, width), torch.ones(2, 100, dtype=torch.int32)), {"inputs": axes, "attention_mask": axes}


def traced(model: LogitsOnly, inputs: tuple[torch.Tensor, ...], names: tuple[str, ...], path: Path) -> None:
    """``path`` from torch's TorchScript tracer, batch and length dynamic. torch deprecates that exporter (its
    DeprecationWarning is silenced here, on purpose), but it is the one that exports w2v-BERT in torch 2.13."""
    axes = {name: {0: "batch", 1: "frames"} for name in names} | {"logits": {0: "batch", 1: "output_frames"}}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        torch.onnx.export(
            model, inputs, str(path), input_names=list(names), output_names=["logits"], dynamic_axes=axes, dynamo=False
        )


def export_onnx(source: str | Path, out: str | Path) -> Path:
    """Write ``out/model.onnx`` and what decoding it needs; returns the ONNX file."""
    model, tokenizer = load_for_inference(source)
    family = family_of(model.config)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    inputs, axes = example_inputs(family)
    wrapped = LogitsOnly(model).eval()
    if family.model_type in TRACED_FAMILIES:
        traced(wrapped, inputs, family.onnx_inputs, out / "model.onnx")
    else:
        program = torch.onnx.export(
            wrapped,
            inputs,
            input_names=list(family.onnx_inputs),
            output_names=["logits"],
            dynamic_shapes=axes,
            dynamo=True,
            verbose=False,
        )
        program.save(str(out / "model.onnx"))
    processor_for(tokenizer, model.config, load_extractor(source, model.config)).save_pretrained(out)
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
