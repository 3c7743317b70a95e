"""Training step time and memory per encoder family: full fine-tuning, LoRA (``peft=lora``) and MMS adapters.

Part 1, measured on the CPU: each family's published shape scaled down (an eighth of the width, a quarter of the
layers, the same layer types, heads and proportions), built as vasr builds it (``build_from_config``, the
feature encoder frozen where there is one, ``with_peft``, ``adapter_only``), every setup fed the same seconds of
audio per batch through its family's own features. Step time (forward, CTC loss, backward, AdamW step) is timed
in interleaved rounds and given as a ratio to the wav2vec2 base-shape full fine-tune of the same round; memory is
parameters + gradients + AdamW state counted from the trained parameters, plus the activations autograd saves for
backward (``torch.autograd.graph.saved_tensors_hooks``, each storage counted once, parameters excluded).

Part 2, computed: the published sizes on the meta device (nothing downloaded), weights + gradients + AdamW state
per setup, and an activation estimate per second of audio: the saved tensors of the real-width model measured
with 1 and 2 layers on a short batch, extrapolated to the real number of layers.

``python bench/families.py [--quick] [--out runs/families]``; the tables are in bench/README.md and docs/encoders.md.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from common import write_table
from transformers import PreTrainedModel

from vasr.audio import SAMPLE_RATE
from vasr.model.adapters import adapter_only
from vasr.model.build import build_from_config
from vasr.model.family import family_of
from vasr.model.lora import with_peft
from vasr.text.vocab import PAD

LORA = {"method": "lora", "rank": 16, "alpha": 32, "dropout": 0.05}  # conf/peft/lora.yaml
VOCAB = {PAD: 0, **{f"t{i}": i for i in range(1, 110)}}  # about a Vietnamese character vocabulary's size
LARGE = {  # wav2vec 2.0 large / XLS-R 300M / MMS 300m, and HuBERT, WavLM, data2vec-audio large
    "hidden_size": 1024,
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
    "intermediate_size": 4096,
    "do_stable_layer_norm": True,
    "feat_extract_norm": "layer",
    "conv_bias": True,
}
XLSR_1B = {**LARGE, "hidden_size": 1280, "num_hidden_layers": 48, "intermediate_size": 5120}
# Published shapes: a family's transformers config defaults are its base model (w2v-BERT's: w2v-bert-2.0).
SHAPES: dict[str, dict] = {
    "wav2vec2 base": {"model_type": "wav2vec2"},
    "HuBERT base": {"model_type": "hubert"},
    "WavLM base": {"model_type": "wavlm"},
    "data2vec-audio base": {"model_type": "data2vec-audio"},
    "wav2vec2 large / XLS-R 300M": {"model_type": "wav2vec2", **LARGE},
    "XLS-R 1B": {"model_type": "wav2vec2", **XLSR_1B},
    "MMS 1B": {"model_type": "wav2vec2", **XLSR_1B, "adapter_attn_dim": 16},
    "w2v-BERT 2.0": {"model_type": "wav2vec2-bert", "add_adapter": True},
}
# The families measured on the CPU (scaled down) with their fine-tuning methods; the first is the baseline.
BENCHED = {
    "wav2vec2 base": ("full", "lora"),
    "HuBERT base": ("full", "lora"),
    "WavLM base": ("full", "lora"),
    "data2vec-audio base": ("full", "lora"),
    "w2v-BERT 2.0": ("full", "lora"),
    "MMS 1B": ("full", "lora", "adapters"),
}
WIDTH, DEPTH = 8, 4  # the scaled-down shapes: width / 8, layers / 4
TOKENS_PER_SECOND = 10  # CTC targets per second of audio (Vietnamese characters of read speech)


def scaled(settings: Mapping) -> dict:
    """``settings`` narrowed and shortened for the CPU: hidden, feed-forward, convolution channels and adapter
    widths divided by ``WIDTH``, layers by ``DEPTH``; heads, kernels, strides and layer types kept."""
    config = family_of(build_config(settings)).config
    out = dict(settings)
    out["hidden_size"] = config.hidden_size // WIDTH
    out["intermediate_size"] = config.intermediate_size // WIDTH
    out["num_hidden_layers"] = max(2, config.num_hidden_layers // DEPTH)
    if hasattr(config, "conv_dim"):
        out["conv_dim"] = [dim // WIDTH for dim in config.conv_dim]
    if getattr(config, "adapter_attn_dim", None):
        out["adapter_attn_dim"] = max(2, config.adapter_attn_dim // WIDTH)
    if getattr(config, "output_hidden_size", None):
        out["output_hidden_size"] = out["hidden_size"]
    return out


def build_config(settings: Mapping):
    with torch.device("meta"):
        return build_from_config(settings, VOCAB, PAD).config


def build(settings: Mapping, method: str) -> PreTrainedModel:
    """The model a run trains: feature encoder frozen (vasr's default), then LoRA or MMS adapters if asked.
    LayerDrop off (the configs' default 0.1 skips random layers each step, so steps would differ in work)."""
    model = build_from_config(settings, VOCAB, PAD, layerdrop=0.0)
    if hasattr(model, "freeze_feature_encoder"):
        model.freeze_feature_encoder()
    if method == "adapters":
        adapter_only(model, "vie")
    elif method == "lora":
        model = with_peft(model, LORA)
    return model


def batch(model: PreTrainedModel, utterances: int, seconds: float, seed: int = 0) -> dict[str, torch.Tensor]:
    """``utterances`` random waveforms of ``seconds`` each through the family's own features, with CTC targets."""
    rng = np.random.default_rng(seed)
    family = family_of(model.config)
    audio = [rng.standard_normal(int(seconds * SAMPLE_RATE)).astype(np.float32) * 0.1 for _ in range(utterances)]
    inputs = family.features()(audio)
    inputs["labels"] = torch.from_numpy(rng.integers(1, len(VOCAB), (utterances, int(TOKENS_PER_SECOND * seconds))))
    return inputs


def state_bytes(model: torch.nn.Module) -> int:
    """fp32 weights, plus a gradient and AdamW's two moments for each trained weight."""
    total = sum(p.numel() for p in model.parameters())
    trained = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return 4 * total + 12 * trained


@contextmanager
def saved_bytes(model: torch.nn.Module, found: list[int]):
    """Sums the bytes of the tensors autograd saves for backward while inside, each storage once, parameters
    (counted in :func:`state_bytes`) excluded; appends the sum to ``found`` on exit."""
    seen = {p.untyped_storage().data_ptr() for p in model.parameters()}
    total = 0

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        nonlocal total
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in seen:
            seen.add(storage.data_ptr())
            total += storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        yield
    found.append(total)


@dataclass
class Setup:
    """One family and method on the CPU: its model, optimizer and batch."""

    family: str
    method: str
    model: PreTrainedModel
    inputs: dict[str, torch.Tensor]

    def __post_init__(self) -> None:
        self.optimizer = torch.optim.AdamW([p for p in self.model.parameters() if p.requires_grad], lr=1e-4)
        self.activations: list[int] = []

    def step(self) -> None:
        self.model.train()
        with saved_bytes(self.model, self.activations):
            loss = self.model(**self.inputs).loss
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

    def timed(self, steps: int) -> float:
        start = time.perf_counter()
        for _ in range(steps):
            self.step()
        return (time.perf_counter() - start) / steps


def cpu_bench(rounds: int, steps: int, utterances: int, seconds: float) -> list[dict]:
    """Each setup's step time (ratio to the baseline's in the same round, median over rounds) and memory."""
    torch.manual_seed(0)
    setups = []
    for family, methods in BENCHED.items():
        for method in methods:
            model = build(scaled(SHAPES[family]), method)
            setups.append(Setup(family, method, model, batch(model, utterances, seconds)))
    for setup in setups:
        setup.step()  # warm-up: allocator, kernels' first shapes, AdamW's state
    times: dict[int, list[float]] = {i: [] for i in range(len(setups))}
    for _ in range(rounds):
        for i, setup in enumerate(setups):
            times[i].append(setup.timed(steps))
    base_memory = state_bytes(setups[0].model) + setups[0].activations[-1]
    rows = []
    for i, setup in enumerate(setups):
        ratios = [mine / base for mine, base in zip(times[i], times[0], strict=True)]
        memory = state_bytes(setup.model) + setup.activations[-1]
        rows.append(
            {
                "family": setup.family,
                "method": setup.method,
                "parameters": sum(p.numel() for p in setup.model.parameters()),
                "trained": sum(p.numel() for p in setup.model.parameters() if p.requires_grad),
                "step_s": statistics.median(times[i]),
                "step_ratio": statistics.median(ratios),
                "step_ratio_spread": max(ratios) - min(ratios),
                "state_MiB": state_bytes(setup.model) / 2**20,
                "activations_MiB": setup.activations[-1] / 2**20,
                "memory_ratio": memory / base_memory,
            }
        )
    return rows


def activations_per_second(settings: Mapping, method: str, utterances: int = 2, seconds: float = 2.0) -> float:
    """Bytes autograd saves per second of audio for the real-width model at its real depth: measured with 1 and
    2 layers (the second layer's cost is every later layer's), extrapolated to ``num_hidden_layers``."""
    layers = family_of(build_config(settings)).config.num_hidden_layers
    found: list[int] = []
    for depth in (1, 2):
        torch.manual_seed(0)
        model = build({**settings, "num_hidden_layers": depth}, method)
        model.train()
        inputs = batch(model, utterances, seconds)
        with saved_bytes(model, found):
            model(**inputs).loss.backward()
        del model
    first, per_layer = found[0], found[1] - found[0]
    return (first + (layers - 1) * per_layer) / (utterances * seconds)


def real_sizes(methods: Callable[[str], tuple[str, ...]]) -> list[dict]:
    """Weights + gradients + AdamW state at the published sizes (meta device), and the activation estimate."""
    rows = []
    for family in SHAPES:
        for method in methods(family):
            with torch.device("meta"):
                model = build(SHAPES[family], method)
            state = state_bytes(model)
            per_second = activations_per_second(SHAPES[family], method)
            rows.append(
                {
                    "model": family,
                    "method": method,
                    "parameters_M": sum(p.numel() for p in model.parameters()) / 1e6,
                    "trained_M": sum(p.numel() for p in model.parameters() if p.requires_grad) / 1e6,
                    "weights_grads_adamw_GiB": state / 2**30,
                    "activations_GiB_per_100s_est": 100 * per_second / 2**30,
                    **{
                        f"max_seconds_{card}GB_est": max(0, int((0.9 * card * 1e9 - state) / per_second))
                        for card in (24, 40, 80)
                    },
                }
            )
    return rows


def cell(key: str, value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if "ratio" in key else f"{value:,.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one round, one step, half the audio")
    parser.add_argument("--out", type=Path, default=Path("runs/families"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=2, help="timed steps per setup per round")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rounds, steps, utterances = (1, 1, 2) if args.quick else (args.rounds, args.steps, 4)
    rows = cpu_bench(rounds, steps, utterances, seconds=4.0)
    write_table(rows, args.out, "families_cpu", cell)
    for row in rows:
        name = f"{row['family'].split()[0].lower()}_{row['method']}"
        print(f"RESULT step_{name} {row['step_ratio']:.3f}")
        print(f"RESULT memory_{name} {row['memory_ratio']:.3f}")
    sizes = real_sizes(lambda family: BENCHED.get(family, ("full", "lora")))
    write_table(sizes, args.out, "families_real", cell)
    print(f"tables: {args.out}/families_cpu.md, {args.out}/families_real.md")


if __name__ == "__main__":
    main()
