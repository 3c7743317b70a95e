"""int8 against fp32 ONNX on the CPU: speed, size and greedy WER, as vasr-export-onnx's gate measures them.

python bench/onnx_int8.py [--run RUN | --random-base] [--utterances N] [--threads N]
  ->  RESULT int8_speed_ratio X, RESULT int8_size_ratio X, RESULT int8_wer_delta_points X

With --run, the run's export scored on its test split (its own number handling). Without, the shipped
vasr-tiny-vi on a demo corpus synthesised as tests/conftest.py makes one (seed 7, N utterances), its
numbers spoken (as the checkpoint was trained). --random-base: wav2vec2's base architecture (94M
parameters) with random weights on that corpus, for the speed and size ratios only (its WER means
nothing). The default quantisation (MatMul weights in int8) gives the RESULT lines; MatMul and Conv
with uint8 weights (what the gate's test refuses) is printed beside it. Speed: int8's audio seconds per
second over fp32's, the two alternating file by file in one process.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
from omegaconf import OmegaConf
from transformers import Wav2Vec2Config, Wav2Vec2CTCTokenizer, Wav2Vec2ForCTC

from vasr import ASSETS
from vasr.console import quiet_libraries
from vasr.model.int8 import RUN_CONFIG, RUN_EXPORT, RUN_SPLIT, Quantisation, gate, quantize
from vasr.model.onnx import export_onnx
from vasr.synth import write_corpus

SETTINGS = {"default": Quantisation(), "conv_uint8": Quantisation(("MatMul", "Conv"), "uint8")}


def random_base(folder: Path) -> Path:
    """wav2vec2-base's shape (transformers' default Wav2Vec2Config, group-normed feature encoder) with random
    weights and vasr-tiny-vi's vocabulary, saved as a model folder."""
    tokenizer = Wav2Vec2CTCTokenizer.from_pretrained(str(ASSETS / "vasr-tiny-vi"))
    torch.manual_seed(0)
    config = Wav2Vec2Config(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, feat_extract_norm="group")
    Wav2Vec2ForCTC(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", help="a trained run's folder (RUN/export, RUN/split/test.jsonl)")
    parser.add_argument("--random-base", action="store_true", help="the base architecture, random weights")
    parser.add_argument("--utterances", type=int, default=200, help="without --run: demo utterances to synthesise")
    parser.add_argument("--threads", type=int, help="onnxruntime threads (default: its own)")
    args = parser.parse_args()
    quiet_libraries()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        if args.run:
            run = Path(args.run)
            model, manifest, audio_dir = run / RUN_EXPORT, run / RUN_SPLIT / "test.jsonl", None
            numbers = str(OmegaConf.select(OmegaConf.load(run / RUN_CONFIG), "data.numbers", default="keep"))
        else:
            write_corpus(scratch / "corpus", args.utterances, seed=7, workers=2)
            model = random_base(scratch / "base") if args.random_base else ASSETS / "vasr-tiny-vi"
            manifest = scratch / "corpus" / "manifest.jsonl"
            audio_dir, numbers = scratch / "corpus" / "audio", "verbalize"
        print(f"model {model}, utterances of {manifest}")
        folder = export_onnx(model, scratch / "onnx").parent
        reports = {}
        for name, settings in SETTINGS.items():
            int8 = f"model.int8.{name}.onnx"
            quantize(folder / "model.onnx", folder / int8, settings)
            reports[name] = gate(folder, int8, manifest, audio_dir, numbers, settings, threads=args.threads)
            print(f"[{name}]", "\n".join(reports[name].lines()))
    chosen = reports["default"]
    print(f"RESULT int8_speed_ratio {chosen.speed_ratio:.3f}")
    print(f"RESULT int8_size_ratio {chosen.size_ratio:.3f}")
    print(f"RESULT int8_wer_delta_points {chosen.wer_loss_points:.3f}")


if __name__ == "__main__":
    main()
