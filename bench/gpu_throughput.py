"""GPU training throughput on a base-size wav2vec2: the reference recipe, vasr, and a bare loop's ceiling.

python bench/gpu_throughput.py [--steps 60] [--e2e]
    ->  RESULT gpu_throughput <vasr / reference>   RESULT gpu_ceiling_share <vasr / bare loop>

Needs a CUDA GPU and the demo corpus (data/demo); without a GPU it prints one line saying it
was skipped and exits 0. ``--smoke`` runs every path at toy size on the CPU (to test the script).

All in one process, the same architecture (``Wav2Vec2Config()`` defaults, 94M parameters, random
init, feature encoder frozen) and the same demo utterances:
(a) the reference recipe as configured: HF ``Trainer``, fp16, gradient checkpointing,
    ``group_by_length``, batch 16 (bench/throughput.py's ``run_reference``);
(b) vasr with the ``trainer=gpu`` defaults through its DataModule and LightningModule
    (bf16-mixed where supported, seconds budget, 0.125 s padding steps, loader workers with
    pinned memory, fused AdamW, SDPA attention, no gradient checkpointing), and the same with
    ``model.compile=true``;
(c) a bare PyTorch loop on one fixed batch of vasr's shape (bf16 autocast, fused AdamW): the ceiling.
``--e2e`` also runs ``train.py model=nguyenvulebinh model.pretrained=<local base-size folder>
trainer=gpu`` and reports the median of its logged per-step audio seconds per second.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import torch  # noqa: E402
from hydra import compose, initialize_config_dir  # noqa: E402
from throughput import run_reference, run_vasr  # noqa: E402
from transformers import Wav2Vec2Config, Wav2Vec2ForCTC  # noqa: E402

from vasr.data.audio import SAMPLE_RATE  # noqa: E402
from vasr.data.manifest import read_manifest  # noqa: E402
from vasr.model.build import compile_blocks  # noqa: E402
from vasr.text.vocab import PAD, build_vocab, tokenizer_for  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SMOKE = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}
SMOKE |= {"conv_dim": [16] * 7, "num_conv_pos_embeddings": 16, "num_conv_pos_embedding_groups": 4}


def base_model(vocab: dict[str, int], smoke: bool) -> Wav2Vec2ForCTC:
    torch.manual_seed(0)
    config = Wav2Vec2Config(**(SMOKE if smoke else {}), vocab_size=len(vocab), pad_token_id=vocab[PAD])
    config.ctc_zero_infinity, config.ctc_loss_reduction = True, "mean"
    model = Wav2Vec2ForCTC(config)
    model.freeze_feature_encoder()
    return model


def gpu_defaults() -> tuple[dict, str]:
    """``trainer=gpu``'s loader options and precision, read from the configs users run."""
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(config_name="train", overrides=["model=nguyenvulebinh", "trainer=gpu"])
    loader = {k: v for k, v in cfg.data.loader.items() if k != "_target_"}
    return loader, cfg.trainer.precision


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


def end_to_end(items_dir: Path, vocab: dict[str, int], tokenizer, steps: int, smoke: bool) -> float:
    """``train.py model=nguyenvulebinh trainer=gpu`` from a local base-size folder: median logged audio s/s."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "base"
        base_model(vocab, smoke).save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        command = [sys.executable, str(ROOT / "train.py"), "model=nguyenvulebinh", f"model.pretrained={folder}"]
        command += ["trainer=gpu" if not smoke else "trainer=cpu", f"trainer.max_steps={steps}", "logger=csv"]
        command += [f"paths.runs_dir={tmp}", "run_name=e2e", "decode=greedy", "test_after_fit=false"]
        command += ["test_before_fit=false", "trainer.log_every_n_steps=1", "trainer.check_val_every_n_epoch=100"]
        subprocess.run(command, cwd=ROOT, check=True)
        with open(Path(tmp) / "train" / "e2e" / "metrics.csv") as handle:
            rates = [float(r["train/audio_seconds_per_second"]) for r in csv.DictReader(handle)]
            rates = [r for r in rates if r]
    return statistics.median(rates[len(rates) // 3 :])  # steady state: after the first third


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--e2e", action="store_true")
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
    accelerator = "cpu" if args.smoke else "gpu"
    name = torch.cuda.get_device_name() if device == "cuda" else "CPU (smoke test)"
    print(f"{name}, torch {torch.__version__}; vasr loader {loader}, precision {precision}")
    reference = run_reference(
        base_model(vocab, args.smoke), items, tokenizer, steps, 16, "fp32" if args.smoke else "fp16", True
    )
    print(f"(a) reference recipe (HF Trainer, fp16, grad checkpointing, batch 16): {reference:8.1f} audio s/s")
    common = {"precision": precision, "accelerator": accelerator, "freeze": True, "fused": not args.smoke}
    vasr = run_vasr(base_model(vocab, args.smoke), items, tokenizer, **common, **loader)
    print(f"(b) vasr, trainer=gpu defaults:                                  {vasr:8.1f} audio s/s")
    compiled = base_model(vocab, args.smoke)
    compile_blocks(compiled)
    with_compile = run_vasr(compiled, items, tokenizer, **common, **loader)
    print(f"    vasr, trainer=gpu defaults + model.compile=true:             {with_compile:8.1f} audio s/s")
    mean = sum(i.duration for i in items) / len(items)
    batch = max(1, int(loader["max_seconds"] // mean))
    ceiling = bare_loop(base_model(vocab, args.smoke), batch, mean, steps, device)
    print(f"(c) bare loop, fixed {batch} x {mean:.1f} s batch, bf16, fused AdamW:   {ceiling:8.1f} audio s/s")
    if args.e2e:
        e2e = end_to_end(ROOT / "data/demo", vocab, tokenizer, steps, args.smoke)
        print(f"train.py model=nguyenvulebinh trainer=gpu, median steady-state: {e2e:8.1f} audio s/s")
    best = max(vasr, with_compile)
    print(f"compile: {with_compile / vasr:.3f}x without it")
    print(f"RESULT gpu_throughput {best / reference:.3f}")
    print(f"RESULT gpu_ceiling_share {best / ceiling:.3f}")


if __name__ == "__main__":
    main()
