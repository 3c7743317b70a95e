"""``vasr-export-onnx MODEL OUT`` (``python -m vasr.model.onnx``): the network as ONNX, dynamic batch and length.

MODEL is an export folder, a ``.ckpt`` or a hub id. OUT receives ``model.onnx`` (inputs named
as the model's family says: ``input_values``, float32 (batch, samples) of standardised 16 kHz
audio, for the waveform families; ``input_features``, float32 (batch, frames, 160) stacked filter
banks, and ``attention_mask``, int32 (batch, frames) as its ``SeamlessM4TFeatureExtractor`` makes it,
for w2v-BERT; output ``logits``: (batch, frames, vocabulary)), the processor files (``vocab.json``, ...)
and, when MODEL has one, its ``language_model/``. ``--sherpa`` adds ``tokens.txt`` for sherpa-onnx
(:mod:`vasr.model.sherpa`; refused, saying why, for a model it cannot run). ``--quantize int8`` adds
``model.int8.onnx``, kept only if its greedy WER is within ``--max-wer-loss`` points of fp32's on the
run's validation split or ``--manifest`` (:mod:`vasr.model.int8`; exit 2 when refused).

torch's dynamo exporter is used for the waveform families: the older TorchScript tracer mis-exports
wav2vec2's weight-normed positional convolution (README, ONNX). w2v-BERT goes through the TorchScript
tracer: dynamo cannot reshape its self-attention's heads over a symbolic length (torch 2.13: "Cannot
view a tensor ... as shape (s43, s53, 32)"), and w2v-BERT has no weight-normed convolution to mis-export.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import warnings
from pathlib import Path

import torch
from onnxruntime.quantization.registry import IntegerOpsRegistry
from transformers import PreTrainedModel

from vasr.audio import SAMPLE_RATE
from vasr.console import quiet_libraries
from vasr.decoding.beam import ALPHABET_FILE, LM_DIR, SETTINGS_FILE
from vasr.model.export import load_extractor, load_for_inference, processor_for
from vasr.model.family import FBANK_HOP, Family, family_of
from vasr.model.int8 import (
    DEFAULT_MAX_WER_LOSS,
    DEFAULT_OPS,
    INT8_FILE,
    OVER_LOSS_FILE,
    WEIGHT_TYPES,
    Quantisation,
    gate,
    quantize,
    run_validation,
    write_report,
)
from vasr.model.sherpa import SherpaUnsupported, sherpa_refusal, write_tokens

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


def export_onnx(source: str | Path, out: str | Path, sherpa: bool = False) -> Path:
    """Write ``out/model.onnx`` and what decoding it needs (with ``sherpa``, sherpa-onnx's ``tokens.txt``: a model
    it cannot run is refused before anything is written); returns the ONNX file."""
    model, tokenizer = load_for_inference(source)
    family = family_of(model.config)
    extractor = load_extractor(source, model.config)
    refusal = sherpa_refusal(model.config, extractor) if sherpa else None
    if refusal:
        raise SherpaUnsupported(f"{source}: sherpa-onnx cannot run it: {refusal}")
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
    processor_for(tokenizer, model.config, extractor).save_pretrained(out)
    model.config.save_pretrained(out)
    if sherpa:
        write_tokens(tokenizer, model.config, out)
    source = Path(source)
    if (source / LM_DIR).is_dir():
        shutil.copytree(source / LM_DIR, out / LM_DIR, dirs_exist_ok=True)
        for name in (ALPHABET_FILE, SETTINGS_FILE):
            if (source / name).exists():
                shutil.copyfile(source / name, out / name)
    return out / "model.onnx"


def gate_manifest(args: argparse.Namespace) -> tuple[Path, str] | None:
    """The manifest the int8 gate scores on and its number handling: ``--manifest``, else MODEL's run's
    validation split; None when there is neither."""
    if args.manifest:
        return Path(args.manifest), args.numbers or "keep"
    found = run_validation(args.model)
    return (found[0], args.numbers or found[1]) if found else None


def quantize_gated(args: argparse.Namespace, folder: Path, manifest: tuple[Path, str] | None) -> int:
    """Quantise ``folder/model.onnx`` and keep ``model.int8.onnx`` only if the gate passes (or was skipped by
    ``--no-gate``, or its loss allowed by ``--allow-wer-loss``, under another name); the exit status."""
    settings = Quantisation(tuple(args.quantize_ops), args.weight_type, args.per_channel)
    int8 = quantize(folder / "model.onnx", folder / INT8_FILE, settings)
    if manifest is None:  # --no-gate
        print(f"{int8} (not scored: --no-gate)")
        write_report(None, folder, settings, INT8_FILE)
        return 0
    audio_dir = Path(args.audio_dir) if args.audio_dir else None
    report = gate(folder, INT8_FILE, manifest[0], audio_dir, manifest[1], settings, args.max_wer_loss, args.threads)
    print("\n".join(report.lines()))
    if report.passed:
        write_report(report, folder, settings, INT8_FILE)
        print(int8)
        return 0
    if args.allow_wer_loss:
        int8.replace(folder / OVER_LOSS_FILE)
        write_report(report, folder, settings, OVER_LOSS_FILE)
        print(
            f"warning: int8 loses {report.wer_loss_points:.2f} WER points, past {args.max_wer_loss:g}; kept "
            f"(--allow-wer-loss) as {folder / OVER_LOSS_FILE}",
            file=sys.stderr,
        )
        return 0
    int8.unlink()
    write_report(report, folder, settings, None)
    print(
        f"refused: int8 loses {report.wer_loss_points:.2f} WER points, more than --max-wer-loss "
        f"{args.max_wer_loss:g}; no int8 file written (try other --quantize-ops, or --allow-wer-loss to keep it)",
        file=sys.stderr,
    )
    return 2


def op_types(text: str) -> list[str]:
    """``--quantize-ops``: comma-separated op types that onnxruntime's dynamic quantisation knows."""
    ops = [op.strip() for op in text.split(",") if op.strip()]
    unknown = sorted(set(ops) - set(IntegerOpsRegistry))
    if unknown or not ops:
        raise argparse.ArgumentTypeError(
            f"{', '.join(unknown) or 'none given'}: dynamic quantisation knows {', '.join(sorted(IntegerOpsRegistry))}"
        )
    return ops


def parser_of() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vasr-export-onnx", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model", help="export folder, .ckpt file or hub id")
    parser.add_argument("out", help="folder to write model.onnx and the processor into")
    parser.add_argument("--sherpa", action="store_true", help="also write tokens.txt for sherpa-onnx")
    int8 = parser.add_argument_group("int8", "onnxruntime dynamic quantisation, gated on greedy WER")
    int8.add_argument("--quantize", choices=["int8"], help="also write model.int8.onnx if it passes the gate")
    int8.add_argument(
        "--quantize-ops", type=op_types, default=list(DEFAULT_OPS), help="op types to quantise (default: MatMul)"
    )
    int8.add_argument("--weight-type", choices=list(WEIGHT_TYPES), default="int8", help="default: int8")
    int8.add_argument("--per-channel", action="store_true", help="a weight scale per output channel")
    int8.add_argument("--manifest", help="utterances to score on (default: MODEL's run's validation split)")
    int8.add_argument("--audio-dir", help="where --manifest's audio paths resolve (default: its folder)")
    int8.add_argument(
        "--numbers", choices=["keep", "verbalize"], help="references' numbers (default: the run's data.numbers)"
    )
    int8.add_argument(
        "--max-wer-loss",
        type=float,
        default=DEFAULT_MAX_WER_LOSS,
        help=f"WER points int8 may lose against fp32 (default {DEFAULT_MAX_WER_LOSS:g})",
    )
    int8.add_argument("--allow-wer-loss", action="store_true", help=f"past it, warn and keep {OVER_LOSS_FILE}")
    int8.add_argument("--no-gate", action="store_true", help="quantise without scoring (says so)")
    int8.add_argument("--threads", type=int, help="onnxruntime threads while scoring (default: its own)")
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = parser_of()
    args = parser.parse_args(argv)
    manifest = gate_manifest(args) if args.quantize and not args.no_gate else None
    if args.quantize and not args.no_gate and manifest is None:
        parser.error(
            f"--quantize int8 is scored on MODEL's run's validation split, and {args.model} is no run's export "
            "with one (RUN/export beside RUN/split/val.jsonl): give --manifest FILE [--audio-dir DIR], or --no-gate"
        )
    quiet_libraries()
    try:
        path = export_onnx(args.model, args.out, sherpa=args.sherpa)
    except SherpaUnsupported as error:
        parser.exit(2, f"vasr-export-onnx: {error}\n")
    print(path)
    if args.quantize:
        sys.exit(quantize_gated(args, path.parent, manifest))


if __name__ == "__main__":
    main()
