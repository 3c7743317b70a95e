"""Real-time factor of transcription as evaluate.py does it: batch 1 (unpadded) and batched.

python bench/inference.py [--quick] [--model CKPT_OR_FOLDER]   ->  RESULT inference <RTF at batch 1>

RTF = wall seconds / audio seconds (lower is faster). Without --model, the tiny architecture
with fresh weights is timed (speed does not depend on the weights).
"""

from __future__ import annotations

import argparse
import tempfile

import torch
from omegaconf import OmegaConf

from vasr.data.manifest import read_manifest
from vasr.evaluation import transcribe
from vasr.model.build import build_from_config
from vasr.model.export import load_for_inference
from vasr.text.vocab import PAD, build_vocab, make_tokenizer, save_vocab


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    items, _ = read_manifest("data/demo/manifest.jsonl", "data/demo/audio")
    items = items[: 50 if args.quick else 300]
    if args.model:
        model, tokenizer = load_for_inference(args.model)
    else:
        vocab = build_vocab("corpus", (i.text for i in items))
        with tempfile.TemporaryDirectory() as tmp:
            tokenizer = make_tokenizer(save_vocab(vocab, tmp))
        architecture = OmegaConf.to_container(OmegaConf.load("conf/model/tiny.yaml").architecture)
        model = build_from_config(architecture, vocab, PAD).eval()
    torch.manual_seed(0)
    audio = sum(i.duration for i in items)
    rtf = {}
    for batch in (1, 16):
        _, seconds = transcribe(model, tokenizer, items, batch)
        rtf[batch] = seconds / audio
        print(f"batch {batch:2d}: {audio:.0f} s of audio in {seconds:.1f} s, RTF {rtf[batch]:.4f}")
    print(f"RESULT inference {rtf[1]:.4f}")


if __name__ == "__main__":
    main()
