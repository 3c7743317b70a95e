"""Real-time factor of transcription as evaluate.py does it: batch 1 (unpadded) and batched.

python bench/inference.py [--quick] [--model CKPT_OR_FOLDER]   ->  RESULT inference <RTF at batch 1>

RTF = wall seconds / audio seconds (lower is faster). Without --model, the tiny architecture
with fresh weights is timed (the network's speed does not depend on the weights). A --model
folder with a language_model/ (train.py's export) also times beam search with its n-gram, which
does depend on them: a trained model's peaked outputs leave few characters per frame to try.
"""

from __future__ import annotations

import argparse
import time

import torch
from omegaconf import OmegaConf

from vasr.data.manifest import read_manifest
from vasr.decoding.beam import BeamDecoder
from vasr.decoding.ctc import greedy_transcripts
from vasr.infer.posteriors import posteriors
from vasr.model.build import build_from_config
from vasr.model.export import load_for_inference
from vasr.text.vocab import PAD, build_vocab, tokenizer_for


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
        tokenizer = tokenizer_for(vocab)
        architecture = OmegaConf.to_container(OmegaConf.load("conf/model/tiny.yaml").architecture)
        model = build_from_config(architecture, vocab, PAD).eval()
    torch.manual_seed(0)
    audio = sum(i.duration for i in items)
    rtf = {}
    for batch in (1, 16):
        log_probs, seconds = posteriors(model, tokenizer, items, batch)
        greedy_transcripts(tokenizer, log_probs)
        rtf[batch] = seconds / audio
        print(f"batch {batch:2d}: {audio:.0f} s of audio in {seconds:.1f} s, RTF {rtf[batch]:.4f}")
    decoder = BeamDecoder.load(args.model, tokenizer) if args.model else None
    if decoder is not None:
        start = time.perf_counter()
        decoder.decode(log_probs)
        beam = (time.perf_counter() - start) / audio
        print(f"{decoder.description}: RTF {beam:.4f} on top of the network's, {beam / rtf[16]:.2f}x batch 16's")
    print(f"RESULT inference {rtf[1]:.4f}")


if __name__ == "__main__":
    main()
