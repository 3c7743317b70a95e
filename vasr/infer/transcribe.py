"""``python -m vasr.infer.transcribe MODEL AUDIO... [--out FILE] [--format jsonl|srt|vtt]``: transcribe recordings.

MODEL: an export folder (train.py's ``export/``), a ``.ckpt`` or a hub id. AUDIO: files, folders
(searched for audio files) or JSONL manifests (their ``file`` entries, relative to ``--audio-dir``,
by default the manifest's folder). One JSON line per file, ``{file, text, duration, words: [{word,
start, end}]}``; a file that cannot be read gets ``{file, error}`` and the rest go on; the exit
status is the number of files that failed. Decoding is beam search with the model folder's n-gram
(``language_model/``) when it has one, else greedy; ``--hotword`` biases the search toward words.
The real-time factor is printed at the end.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.progress import track

from vasr.decoding.beam import BeamDecoder, BeamSettings
from vasr.infer.subtitles import render
from vasr.infer.transcriber import Transcriber, Transcript
from vasr.model.export import load_for_inference, model_folder

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".au"}
log = logging.getLogger("vasr")


def audio_files(sources: list[str], audio_dir: str | None = None) -> list[Path]:
    """Files as given, folders searched for audio, manifests read for their ``file`` entries."""
    found: list[Path] = []
    for source in map(Path, sources):
        if source.is_dir():
            found += sorted(p for p in source.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
        elif source.suffix == ".jsonl":
            root = Path(audio_dir) if audio_dir else source.parent
            for line in source.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    found.append(root / json.loads(line)["file"])
        else:
            found.append(source)
    return found


def build_transcriber(args: argparse.Namespace) -> Transcriber:
    folder = model_folder(args.model)
    model, tokenizer = load_for_inference(folder or args.model)
    decoder = None
    if args.lm:
        decoder = BeamDecoder(tokenizer, args.lm, BeamSettings(alpha=args.alpha or 0.5, beta=args.beta or 1.0))
    elif not args.greedy and folder is not None:
        decoder = BeamDecoder.load(folder, tokenizer)
    if decoder is None and args.hotword and not args.greedy:
        decoder = BeamDecoder(tokenizer)  # hotwords need a beam, with or without an n-gram
    if decoder is not None and (args.alpha is not None or args.beta is not None):
        weights = {"alpha": args.alpha, "beta": args.beta}
        decoder = decoder.with_settings(**{k: v for k, v in weights.items() if v is not None})
    return Transcriber(
        model,
        tokenizer,
        decoder,
        chunk_seconds=args.chunk_seconds,
        context_seconds=args.context_seconds,
        batch_size=args.batch_size,
        hotwords=args.hotword,
        hotword_weight=args.hotword_weight,
        device=args.device,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="export folder, .ckpt file or hub id")
    parser.add_argument("audio", nargs="+", help="audio files, folders or JSONL manifests")
    parser.add_argument("--out", help="write here instead of standard output")
    parser.add_argument("--format", choices=("jsonl", "srt", "vtt"), default="jsonl")
    parser.add_argument("--audio-dir", help="folder a manifest's file entries are relative to")
    parser.add_argument("--greedy", action="store_true", help="greedy decoding even if the model has an n-gram")
    parser.add_argument("--lm", help="a KenLM model (ARPA or binary) to decode with instead of the model's")
    parser.add_argument("--alpha", type=float, help="LM weight (default: the model's tuned one)")
    parser.add_argument("--beta", type=float, help="word insertion bonus (default: the model's tuned one)")
    parser.add_argument("--hotword", action="append", default=[], help="a word or phrase to favour (repeatable)")
    parser.add_argument("--hotword-weight", type=float, default=10.0)
    parser.add_argument("--chunk-seconds", type=float, default=20.0, help="long files are read in chunks this long")
    parser.add_argument("--context-seconds", type=float, default=4.0, help="context on each side of a chunk")
    parser.add_argument("--batch-size", type=int, default=8, help="chunks per forward pass")
    parser.add_argument("--device", help="cuda or cpu (default: cuda when there is one)")
    args = parser.parse_args(argv)

    transcriber = build_transcriber(args)
    files = audio_files(args.audio, args.audio_dir)
    console = Console(stderr=True)
    done: list[Transcript] = []
    failed = 0
    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout  # noqa: SIM115
    started = time.perf_counter()
    try:
        for path in track(files, description=f"transcribing {len(files)} files", console=console):
            try:
                transcript = transcriber(path)
            except Exception as error:  # one unreadable file must not stop the others
                failed += 1
                message = f"{type(error).__name__}: {error}".strip()
                console.print(f"[red]{path}: {message}")
                if args.format == "jsonl":
                    out.write(json.dumps({"file": str(path), "error": message}, ensure_ascii=False) + "\n")
                continue
            done.append(transcript)
            if args.format == "jsonl":
                out.write(json.dumps(transcript.to_dict(), ensure_ascii=False) + "\n")
                out.flush()
        if args.format != "jsonl":
            out.write(render(done, args.format))
    finally:
        if args.out:
            out.close()
    wall = time.perf_counter() - started
    audio = sum(t.duration for t in done)
    decoding = transcriber.decoder.description if transcriber.decoder else "greedy"
    console.print(
        f"{len(done)} transcribed, {failed} failed: {audio:.1f} s of audio in {wall:.1f} s "
        f"(real-time factor {wall / max(audio, 1e-9):.4f}, {decoding}, {transcriber.device})"
    )
    return min(failed, 255)


if __name__ == "__main__":
    sys.exit(main())
