"""GPU training throughput on a base-size wav2vec2: the reference recipe, vasr, and a bare loop's ceiling.

python bench/gpu_throughput.py [--steps 60] [--e2e]
    ->  RESULT gpu_throughput <vasr / reference>   RESULT gpu_ceiling_share <vasr / bare loop>

Needs a CUDA GPU and the demo corpus (data/demo); without a GPU it prints one line saying it
was skipped and exits 0. ``--smoke`` runs every path at toy size on the CPU (to test the script).

All in one process, the same architecture (``Wav2Vec2Config()`` defaults, 94M parameters, random
init, feature encoder frozen) and the same demo utterances:
(a) the reference recipe as configured: HF ``Trainer``, fp16, gradient checkpointing,
    ``group_by_length``, batch 16, gradients clipped at norm 1.0 (bench/throughput.py's ``run_reference``);
(b) vasr with the ``preset=gpu`` defaults through its DataModule and LightningModule
    (bf16-mixed where supported, seconds budget, 0.125 s padding steps, loader workers with
    pinned memory, fused AdamW, clipping at 1.0, SDPA attention, no gradient checkpointing) for ``--epochs``
    epochs over those utterances: the first epoch meets each padded shape for the first time,
    later epochs meet the same shapes again, as every epoch of a real run does after its first;
    also without the finite-loss check (its host sync) and with ``model.compile``;
(c) a bare PyTorch loop on one fixed batch of vasr's shape (bf16 autocast, fused AdamW): the ceiling.
RESULTs use vasr's later epochs. Then the peak GPU memory of a bf16 step per padded-seconds
budget for base and large architectures (the ``max_seconds`` table in bench/README.md).
``--e2e`` also runs ``train.py model=nguyenvulebinh model.pretrained=<local base-size folder>
preset=gpu`` and reports the median of its logged per-step audio seconds per second.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import lightning as L
import torch
import transformers
from hydra import compose, initialize_config_dir
from throughput import run_reference, run_vasr
from transformers import Wav2Vec2ForCTC

from vasr.audio import SAMPLE_RATE
from vasr.data.manifest import read_manifest
from vasr.model.build import build_from_config, compile_blocks
from vasr.text.vocab import PAD, build_vocab, tokenizer_for

ROOT = Path(__file__).resolve().parents[1]
SMOKE = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}
SMOKE |= {"conv_dim": [16] * 7, "num_conv_pos_embeddings": 16, "num_conv_pos_embedding_groups": 4}
# XLS-R 300M / wav2vec2-large-style: the 317M-parameter checkpoints users also fine-tune.
LARGE = {"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16, "intermediate_size": 4096}
LARGE |= {"do_stable_layer_norm": True, "feat_extract_norm": "layer", "conv_bias": True}
BUDGETS = [50.0, 100.0, 200.0, 400.0, 800.0]  # padded audio seconds per batch (data.loader.max_seconds)


def new_model(vocab: dict[str, int], architecture: dict, smoke: bool, **overrides) -> Wav2Vec2ForCTC:
    """``architecture`` (SMOKE with ``smoke``) built as vasr builds one, random init (seed 0), encoder frozen."""
    torch.manual_seed(0)
    model = build_from_config(SMOKE if smoke else architecture, vocab, PAD, **overrides)
    model.freeze_feature_encoder()
    return model


def base_model(vocab: dict[str, int], smoke: bool) -> Wav2Vec2ForCTC:
    """``Wav2Vec2Config()``'s defaults: the base architecture, LayerDrop 0.1 as transformers sets it."""
    return new_model(vocab, {}, smoke)


def gpu_defaults() -> tuple[dict, str]:
    """``preset=gpu``'s loader options and precision, read from the configs users run."""
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(config_name="train", overrides=["model=nguyenvulebinh", "preset=gpu"])
    loader = {k: v for k, v in cfg.data.loader.items() if k != "_target_"}
    return loader, cfg.trainer.precision


class EpochClock(L.Callback):
    """When fitting started and when each training epoch ended, once the GPU had finished its work."""

    def __init__(self) -> None:
        self.start, self.ends = 0.0, []

    def _now(self) -> float:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        return time.perf_counter()

    def on_fit_start(self, *args) -> None:
        self.start = self._now()

    def on_train_epoch_end(self, *args) -> None:
        self.ends.append(self._now())


def timed_vasr(model: Wav2Vec2ForCTC, items: list, tokenizer, epochs: int, **options) -> tuple[float, float, float]:
    """vasr's training over ``epochs`` epochs: audio s/s of the first (new shapes, setup) and the later
    epochs (the same shapes again, as in every epoch of a real run), and peak GPU memory in GiB."""
    clock = EpochClock()
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    run_vasr(model, items, tokenizer, epochs=epochs, callbacks=[clock], **options)
    audio = sum(item.duration for item in items)
    cold = audio / (clock.ends[0] - clock.start)
    steady = audio * (epochs - 1) / (clock.ends[-1] - clock.ends[0])
    peak = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else 0.0
    return cold, steady, peak


def bare_loop(model: Wav2Vec2ForCTC, batch: int, seconds: float, steps: int, device: str) -> float:
    """Audio seconds per second of forward, backward and a fused AdamW step on one fixed batch."""
    model = model.to(device).train()
    audio = torch.randn(batch, round(seconds * SAMPLE_RATE), device=device)
    labels = torch.randint(1, model.config.vocab_size, (batch, int(seconds * 12)), device=device)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-4, fused=device == "cuda" or None)
    dtype = torch.bfloat16 if device == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
    for step in range(steps + 3):
        if step == 3:
            if device == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
        with torch.autocast(device, dtype=dtype, enabled=dtype != torch.float32):
            loss = model(audio, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    if device == "cuda":
        torch.cuda.synchronize()
    return batch * seconds * steps / (time.perf_counter() - start)


def peak_memory(model: Callable[[], Wav2Vec2ForCTC], budgets: list[float], seconds: float, device: str) -> list[tuple]:
    """Peak GPU GiB of a bf16 training step of a new ``model()`` (optimizer state included) on batches of
    ``seconds``-long utterances filling each padded-seconds budget; stops at the first that does not fit."""
    rows = []
    for budget in budgets:
        batch = max(1, int(budget // seconds))
        try:
            if device == "cuda":
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()
            bare_loop(model(), batch, seconds, 1, device)
            peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else 0.0
        except torch.OutOfMemoryError:
            peak = None
        rows.append((budget, batch, peak))
        if peak is None:
            break
    return rows


def end_to_end(vocab: dict[str, int], tokenizer, steps: int, smoke: bool) -> tuple[float, float]:
    """``train.py model=nguyenvulebinh preset=gpu`` from a local base-size folder: the median logged
    audio s/s of the first epoch and of the later ones."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "base"
        base_model(vocab, smoke).save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        command = [sys.executable, str(ROOT / "train.py"), "model=nguyenvulebinh", f"model.pretrained={folder}"]
        command += ["preset=gpu" if not smoke else "trainer=cpu", f"trainer.max_steps={steps}", "logger=csv"]
        command += [f"paths.runs_dir={tmp}", "run_name=e2e", "decode=greedy", "test_after_fit=false"]
        command += ["test_before_fit=false", "trainer.log_every_n_steps=1", "trainer.check_val_every_n_epoch=100"]
        subprocess.run(command, cwd=ROOT, check=True)
        with open(Path(tmp) / "train" / "e2e" / "metrics.csv") as handle:
            rows = [
                (float(r["epoch"]), float(r["train/audio_seconds_per_second"]))
                for r in csv.DictReader(handle)
                if r["train/audio_seconds_per_second"]
            ]
    first = [rate for epoch, rate in rows if epoch < 1]
    later = [rate for epoch, rate in rows if epoch >= 1] or first[len(first) // 2 :]
    return statistics.median(first), statistics.median(later)


def attempt(name: str, measure: Callable[[], Any]) -> Any:
    """One measurement; a failure is printed and the others still run."""
    print(f"--- {name}", flush=True)
    started = time.perf_counter()
    try:
        value = measure()
    except Exception:
        traceback.print_exc()
        print(f"--- {name}: FAILED", flush=True)
        return None
    print(f"--- {name}: {time.perf_counter() - started:.0f} s", flush=True)
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=60, help="reference steps at batch 16 (the utterances used)")
    parser.add_argument("--epochs", type=int, default=3, help="vasr epochs over those utterances")
    parser.add_argument("--e2e", action="store_true")
    parser.add_argument("--e2e-steps", type=int, default=150)
    parser.add_argument("--smoke", action="store_true", help="toy sizes on the CPU, to test this script")
    args = parser.parse_args()
    if not torch.cuda.is_available() and not args.smoke:
        print("gpu_throughput: skipped, no CUDA GPU on this machine (run it where one is; --smoke tests it on CPU)")
        return
    device, steps = ("cpu", 2) if args.smoke else ("cuda", args.steps)
    items, _ = read_manifest(ROOT / "data/demo/manifest.jsonl", ROOT / "data/demo/audio")
    items = items[: steps * 16]
    vocab = build_vocab("corpus", (i.text for i in items))
    tokenizer = tokenizer_for(vocab)
    loader, precision = gpu_defaults()
    if args.smoke:
        loader |= {"num_workers": 0, "pin_memory": False, "prefetch_factor": None, "max_seconds": 30.0}
        precision = "32-true"
    name = torch.cuda.get_device_name() if device == "cuda" else "CPU (smoke test)"
    print(f"{name}, torch {torch.__version__}, transformers {transformers.__version__}, lightning {L.__version__}")
    print(
        f"{len(items)} utterances, {sum(i.duration for i in items):.0f} s; vasr loader {loader}, precision {precision}"
    )
    mean = sum(i.duration for i in items) / len(items)

    reference = attempt(
        "(a) reference recipe",
        lambda: run_reference(
            base_model(vocab, args.smoke), items, tokenizer, steps, 16, "fp32" if args.smoke else "fp16", True
        ),
    )
    if reference:
        print(f"(a) reference recipe (HF Trainer, fp16, grad checkpointing, batch 16): {reference:.1f} audio s/s")
    options = {"precision": precision, "accelerator": "cpu" if args.smoke else "gpu", "freeze": True}
    options |= {"fused": not args.smoke, **loader}
    vasr = attempt(
        "(b) vasr", lambda: timed_vasr(base_model(vocab, args.smoke), items, tokenizer, args.epochs, **options)
    )
    if vasr:
        print(
            f"(b) vasr, preset=gpu defaults, {args.epochs} epochs: first {vasr[0]:.1f} audio s/s (new shapes, setup),"
        )
        print(f"    later epochs {vasr[1]:.1f} audio s/s; peak GPU memory {vasr[2]:.1f} GiB")
    unchecked = attempt(
        "(b) vasr without the finite-loss check",
        lambda: timed_vasr(
            base_model(vocab, args.smoke), items, tokenizer, args.epochs, check_finite_loss=False, **options
        ),
    )
    if unchecked:
        print(f"    vasr, check_finite_loss=false: first epoch {unchecked[0]:.1f}, later {unchecked[1]:.1f} audio s/s")
    batch = max(1, int(loader["max_seconds"] // mean))
    ceiling = attempt("(c) bare loop", lambda: bare_loop(base_model(vocab, args.smoke), batch, mean, steps, device))
    if ceiling:
        print(f"(c) bare loop, fixed {batch} x {mean:.1f} s batch, bf16, fused AdamW: {ceiling:.1f} audio s/s")
    if reference and vasr and ceiling:
        print(f"vasr / reference: first epoch {vasr[0] / reference:.2f}x, later epochs {vasr[1] / reference:.2f}x")
        print(f"RESULT gpu_throughput {vasr[1] / reference:.3f}")
        print(f"RESULT gpu_ceiling_share {vasr[1] / ceiling:.3f}")

    sizes = {"base (94M)": {}, "large (315M)": LARGE}
    for size, architecture in sizes.items():
        # LayerDrop off, so every layer's activations count.
        model = partial(new_model, vocab, architecture, args.smoke, layerdrop=0.0)
        rows = attempt(
            f"memory, {size}", lambda m=model: peak_memory(m, BUDGETS[: 2 if args.smoke else None], 20.0, device)
        )
        for budget, n, peak in rows or []:
            print(
                f"memory {size}: max_seconds {budget:5.0f} ({n:3d} x 20 s): "
                + ("OOM" if peak is None else f"{peak:6.1f} GiB")
            )

    if args.e2e:
        e2e = attempt("train.py end to end", lambda: end_to_end(vocab, tokenizer, args.e2e_steps, args.smoke))
        if e2e:
            print(
                f"train.py model=nguyenvulebinh preset=gpu: median logged {e2e[0]:.1f} audio s/s in epoch 0, "
                f"{e2e[1]:.1f} later"
            )

    def compiled_run() -> tuple[float, float, float]:
        model = base_model(vocab, args.smoke)
        compile_blocks(model)
        return timed_vasr(model, items, tokenizer, args.epochs, **options)

    compiled = attempt("vasr + model.compile", compiled_run)
    if compiled and vasr:
        print(f"    vasr + model.compile: first epoch {compiled[0]:.1f} (compiling), later {compiled[1]:.1f} audio s/s")
        print(
            f"compile: later epochs {compiled[1] / vasr[1]:.3f}x without it, first epoch {compiled[0] / vasr[0]:.3f}x"
        )


if __name__ == "__main__":
    main()
