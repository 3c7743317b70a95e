"""``vasr-export-onnx --quantize int8``: onnxruntime's dynamic quantisation, kept only where it keeps the WER.

Unchecked int8 has doubled a model's WER (icefall#2003, #995), so the quantised graph is scored against
the fp32 one, greedy, on the same utterances in one process (the run's validation split, or a given
manifest), and refused past ``max_wer_loss`` points. onnxruntime's ``quant_pre_process`` first folds
the graph's constants (the weight-normed positional convolution's weight is computed in the exported
graph, and ``quantize_dynamic`` quantises a ``Conv`` only when its weight is a constant), then
``quantize_dynamic`` stores the chosen ops' weights in 8 bits and quantises their activations at run time.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from omegaconf import OmegaConf
from onnxruntime.quantization import QuantType, quant_pre_process, quantize_dynamic
from transformers import Wav2Vec2CTCTokenizer

from vasr.data.index import UtteranceIndex
from vasr.data.manifest import read_manifest
from vasr.decoding.metrics import error_rates
from vasr.model.onnx_runtime import MODEL_FILE, OnnxCTC, greedy_transcript, read_audio

INT8_FILE = "model.int8.onnx"
OVER_LOSS_FILE = "model.int8.over-wer-loss.onnx"  # kept, by --allow-wer-loss, past the gate's WER loss
GATE_FILE = "int8_gate.json"
DEFAULT_OPS = ("MatMul",)
DEFAULT_MAX_WER_LOSS = 0.5  # WER points int8 may lose against fp32
WEIGHT_TYPES = {"int8": QuantType.QInt8, "uint8": QuantType.QUInt8}
# A run's files, as vasr.recipe.run_folder.RunFolder names them (tests/model/test_int8.py holds them equal).
RUN_EXPORT, RUN_CHECKPOINTS, RUN_SPLIT, RUN_CONFIG = "export", "checkpoints", "split", "config.yaml"
VALIDATION = "val.jsonl"


@dataclass(frozen=True)
class Quantisation:
    """Which ops ``quantize_dynamic`` quantises and how their weights are stored. Weights in 7 bits
    (``reduce_range``) by default: on x86 CPUs without VNNI (AVX2, many AMD EPYC) onnxruntime's u8s8 products
    saturate at 8 bits, and the tiny model's WER loss went past the gate's 0.5 points there, not on VNNI CPUs."""

    ops: tuple[str, ...] = DEFAULT_OPS
    weight_type: str = "int8"
    per_channel: bool = False
    reduce_range: bool = True


def quantize(fp32: str | Path, int8: str | Path, settings: Quantisation) -> Path:
    """``int8`` from ``fp32``: constants folded (``quant_pre_process``, in a temporary folder), then dynamic
    quantisation of ``settings.ops``."""
    with tempfile.TemporaryDirectory() as folder:
        folded = Path(folder) / "folded.onnx"
        # onnxruntime's symbolic shape inference cannot follow the feature encoder's strided lengths; the
        # optimiser's constant folding is what quantisation needs
        quant_pre_process(str(fp32), str(folded), skip_symbolic_shape=True)
        quantize_dynamic(
            folded,
            int8,
            op_types_to_quantize=list(settings.ops),
            weight_type=WEIGHT_TYPES[settings.weight_type],
            per_channel=settings.per_channel,
            reduce_range=settings.reduce_range,
        )
    return Path(int8)


@dataclass(frozen=True)
class GateReport:
    """fp32 against int8 on the same utterances: greedy WER, the model's seconds, file sizes."""

    manifest: str
    utterances: int
    audio_seconds: float
    fp32_wer: float
    int8_wer: float
    fp32_seconds: float
    int8_seconds: float
    fp32_bytes: int
    int8_bytes: int
    max_wer_loss: float
    settings: Quantisation

    @property
    def wer_loss_points(self) -> float:
        return 100 * (self.int8_wer - self.fp32_wer)

    @property
    def speed_ratio(self) -> float:
        """int8's audio seconds per second over fp32's (the same audio, so fp32's seconds over int8's)."""
        return self.fp32_seconds / self.int8_seconds

    @property
    def size_ratio(self) -> float:
        return self.int8_bytes / self.fp32_bytes

    @property
    def passed(self) -> bool:
        return self.wer_loss_points <= self.max_wer_loss

    def lines(self) -> list[str]:
        audio = self.audio_seconds
        return [
            f"int8 gate on {self.utterances} utterances ({self.audio_seconds:.1f} s) of {self.manifest}, "
            f"ops {','.join(self.settings.ops)} ({self.settings.weight_type} weights"
            f"{', per channel' if self.settings.per_channel else ''}"
            f"{', 7-bit range' if self.settings.reduce_range else ''}):",
            f"  WER fp32 {self.fp32_wer:.2%}  int8 {self.int8_wer:.2%}  loss {self.wer_loss_points:+.2f} points "
            f"(allowed {self.max_wer_loss:g})",
            f"  speed int8/fp32 {self.speed_ratio:.2f}x ({audio / self.int8_seconds:.0f} vs "
            f"{audio / self.fp32_seconds:.0f} audio s/s)  size int8/fp32 {self.size_ratio:.2f} "
            f"({self.int8_bytes / 2**20:.1f} vs {self.fp32_bytes / 2**20:.1f} MiB)",
        ]

    def to_dict(self) -> dict:
        extra = {"wer_loss_points": self.wer_loss_points, "speed_ratio": self.speed_ratio}
        return asdict(self) | extra | {"size_ratio": self.size_ratio, "passed": self.passed}


def score_pair(
    folder: Path, int8_file: str, items: UtteranceIndex, tokenizer: Wav2Vec2CTCTokenizer, threads: int | None
) -> tuple[list[str], list[str], float, float]:
    """Greedy transcripts of fp32 and int8 and each one's seconds. The two run file by file in turn (after one
    untimed call each), so a change in the machine's load falls on both alike."""
    fp32, int8 = OnnxCTC(folder, MODEL_FILE, threads), OnnxCTC(folder, int8_file, threads)
    audio = read_audio(list(items))
    for model in (fp32, int8):
        greedy_transcript(model, tokenizer, audio[0])
    texts: dict[str, list[str]] = {"fp32": [], "int8": []}
    seconds = {"fp32": 0.0, "int8": 0.0}
    for samples in audio:
        for name, model in (("fp32", fp32), ("int8", int8)):
            text, took = greedy_transcript(model, tokenizer, samples)
            texts[name].append(text)
            seconds[name] += took
    return texts["fp32"], texts["int8"], seconds["fp32"], seconds["int8"]


def gate(
    folder: Path,
    int8_file: str,
    manifest: Path,
    audio_dir: Path | None,
    numbers: str,
    settings: Quantisation,
    max_wer_loss: float = DEFAULT_MAX_WER_LOSS,
    threads: int | None = None,
) -> GateReport:
    """Score ``folder``'s ``model.onnx`` and ``int8_file`` on ``manifest``'s utterances."""
    items, _ = read_manifest(manifest, audio_dir, numbers=numbers, skip_hint="fix the manifest or give another")
    if not len(items):
        raise ValueError(f"{manifest}: no utterances to score the int8 model on")
    tokenizer = Wav2Vec2CTCTokenizer.from_pretrained(str(folder))
    fp32_texts, int8_texts, fp32_seconds, int8_seconds = score_pair(folder, int8_file, items, tokenizer, threads)
    references = [(item.id, item.text) for item in items]
    return GateReport(
        manifest=str(manifest),
        utterances=len(items),
        audio_seconds=float(sum(item.duration for item in items)),
        fp32_wer=error_rates((uid, ref, hyp) for (uid, ref), hyp in zip(references, fp32_texts, strict=True))["wer"],
        int8_wer=error_rates((uid, ref, hyp) for (uid, ref), hyp in zip(references, int8_texts, strict=True))["wer"],
        fp32_seconds=fp32_seconds,
        int8_seconds=int8_seconds,
        fp32_bytes=(folder / MODEL_FILE).stat().st_size,
        int8_bytes=(folder / int8_file).stat().st_size,
        max_wer_loss=max_wer_loss,
        settings=settings,
    )


def write_report(report: GateReport | None, folder: Path, settings: Quantisation, kept: str | None) -> Path:
    """``folder/int8_gate.json``: the gate's figures (or that it was skipped) and which int8 file was kept."""
    found = report.to_dict() if report else {"checked": False, "settings": asdict(settings)}
    path = folder / GATE_FILE
    path.write_text(json.dumps(found | {"kept": kept}, indent=1) + "\n", encoding="utf-8")
    return path


def run_of(model: str | Path) -> Path | None:
    """The run folder of a run's export (``RUN/export``) or checkpoint (``RUN/checkpoints/x.ckpt``), else None."""
    path = Path(model)
    if path.suffix == ".ckpt" and path.parent.name == RUN_CHECKPOINTS:
        return path.parent.parent
    if path.is_dir() and path.name == RUN_EXPORT:
        return path.parent
    return None


def run_validation(model: str | Path) -> tuple[Path, str] | None:
    """The validation split ``MODEL``'s run wrote, with the run's number handling of its transcripts (its
    ``data.numbers``), so the gate's references are the run's own; None when MODEL is no run's."""
    run = run_of(model)
    if run is None or not (run / RUN_SPLIT / VALIDATION).is_file():
        return None
    config = OmegaConf.load(run / RUN_CONFIG) if (run / RUN_CONFIG).is_file() else OmegaConf.create()
    return run / RUN_SPLIT / VALIDATION, str(OmegaConf.select(config, "data.numbers", default="keep"))
