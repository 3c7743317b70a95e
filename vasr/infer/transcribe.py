"""``vasr-transcribe MODEL AUDIO... [--out PATH] [--format jsonl|srt|vtt]``: transcribe recordings.

MODEL: an export folder (train.py's ``export/``), a ``.ckpt`` or a hub id. AUDIO: files, folders
(searched for audio files) or JSONL manifests (their ``file`` entries, relative to ``--audio-dir``,
by default the manifest's folder). Spoken numbers are written as digits (``--itn``, on by default for models
trained on spoken numbers), word times kept. One JSON line per file, ``{file, text, duration, words: [{word,
start, end}]}``; a file (or manifest line) that cannot be read gets ``{file, error}`` and the rest go on;
the exit status is the number of failures. Subtitles: one .srt/.vtt per audio file (``--out`` a file for
one recording, a folder for several). Decoding is beam search with the model folder's n-gram
(``language_model/``) when it has one, else greedy; ``--hotword`` biases the search toward words.
The real-time factor is printed at the end. Also ``python -m vasr.infer.transcribe``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import track

from vasr.console import quiet_libraries
from vasr.decoding.config import DecodeConfig
from vasr.decoding.ctc import CTCDecoding
from vasr.infer.subtitles import render
from vasr.infer.transcriber import Transcriber, Transcript
from vasr.model.export import load_extractor, load_for_inference, model_folder
from vasr.model.family import family_of

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".au"}


@dataclass(frozen=True)
class Source:
    """One recording to transcribe, or (``error`` set) an entry that names none: a bad manifest line, a path
    that does not exist."""

    path: Path
    error: str | None = None


def plural(count: int, noun: str) -> str:
    """``1 file``, ``2 files``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def audio_files(sources: list[str], audio_dir: str | None = None) -> list[Source]:
    """Files as given, folders searched for audio, manifests read for their ``file`` entries (``file:line``
    named for a line that is not a JSON object with one)."""
    found: list[Source] = []
    for source in map(Path, sources):
        if source.is_dir():
            found += [Source(p) for p in sorted(source.rglob("*")) if p.suffix.lower() in AUDIO_SUFFIXES]
        elif not source.exists():
            found.append(Source(source, "no such file or folder"))
        elif source.suffix == ".jsonl":
            root = Path(audio_dir) if audio_dir else source.parent
            for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), start=1):
                if line.strip():
                    found.append(manifest_entry(source, number, line, root))
        else:
            found.append(Source(source))
    return found


def manifest_entry(manifest: Path, number: int, line: str, root: Path) -> Source:
    try:
        record = json.loads(line)
        return Source(root / record["file"])
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        reason = "not JSON" if isinstance(error, json.JSONDecodeError) else 'no "file" entry'
        return Source(Path(f"{manifest}:{number}"), f"{reason}: {line[:60]}")


def decode_config(args: argparse.Namespace) -> DecodeConfig:
    """The command line as a decoding config: the model's own n-gram (``auto``) unless told otherwise."""
    lm = None if args.greedy else (args.lm or "auto")
    beam = {k: v for k, v in {"alpha": args.alpha, "beta": args.beta}.items() if v is not None}
    return DecodeConfig(lm=lm, beam=beam, hotwords=args.hotword, hotword_weight=args.hotword_weight)


def transcriber_for(model: str, decode: DecodeConfig, device: str = "auto", **cutting: float) -> Transcriber:
    """The :class:`Transcriber` of an export folder, ``.ckpt`` or hub id, decoding as ``decode`` says (``lm=auto``:
    the folder's own n-gram); ``cutting``: chunk and context seconds, batch size."""
    folder = model_folder(model)
    network, tokenizer = load_for_inference(folder or model)
    decoding = CTCDecoding.from_config(decode, tokenizer, model_dir=folder)
    features = family_of(network.config).features(load_extractor(folder or model, network.config))
    return Transcriber(network, decoding, device=device, features=features, **cutting)


def parser() -> argparse.ArgumentParser:
    found = argparse.ArgumentParser(
        prog="vasr-transcribe", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    found.add_argument("model", help="export folder, .ckpt file or hub id")
    found.add_argument("audio", nargs="+", help="audio files, folders or JSONL manifests")
    found.add_argument("--out", help="JSONL: a file instead of standard output; srt/vtt: a file, or a folder")
    found.add_argument("--format", choices=("jsonl", "srt", "vtt"), default="jsonl", help="default: %(default)s")
    found.add_argument("--audio-dir", help="folder a manifest's file entries are relative to")
    found.add_argument("--greedy", action="store_true", help="greedy decoding even if the model has an n-gram")
    found.add_argument("--lm", help="a KenLM model (ARPA or binary) to decode with instead of the model's")
    found.add_argument("--alpha", type=float, help="LM weight (default: the model's tuned one)")
    found.add_argument("--beta", type=float, help="word insertion bonus (default: the model's tuned one)")
    found.add_argument("--hotword", action="append", default=[], help="a word or phrase to favour (repeatable)")
    found.add_argument(
        "--hotword-weight", type=float, default=10.0, help="score added per hotword match (default: %(default)s)"
    )
    found.add_argument(
        "--chunk-seconds", type=float, default=20.0, help="long stretches are read in chunks this long (%(default)s)"
    )
    found.add_argument(
        "--context-seconds", type=float, default=4.0, help="context on each side of a chunk (%(default)s)"
    )
    found.add_argument("--batch-size", type=int, default=8, help="chunks per forward pass (%(default)s)")
    found.add_argument("--device", default="auto", help="auto (the GPU if there is one), cpu, cuda (%(default)s)")
    found.add_argument(
        "--itn",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="numbers written as digits (73%%, 3 giờ 10 phút); default: on when the model cannot write digits, "
        "i.e. was trained on spoken numbers",
    )
    return found


def subtitle_path(out: str | None, audio: Path, kind: str, several: bool) -> Path | None:
    """Where one recording's subtitles go: ``out`` itself for one recording, ``out/<stem>.<kind>`` for several."""
    if out is None:
        return None
    return Path(out) / f"{audio.stem}.{kind}" if several else Path(out)


def speaks_numbers(vocab: dict[str, int]) -> bool:
    """A model whose vocabulary has no digit says its numbers in words (it was trained with
    ``data.numbers=verbalize``): its transcripts get the ITN by default."""
    return not any(character.isdigit() for token in vocab for character in token)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    quiet_libraries()
    if args.greedy and (args.hotword or args.lm):
        parser().error("--greedy decodes without a beam: --hotword and --lm need one")
    console = Console(stderr=True)
    files = audio_files(args.audio, args.audio_dir)
    recordings = [s for s in files if s.error is None]
    if not recordings:
        console.print(f"[red]no audio files found in {' '.join(args.audio)}")
        return 2
    several = len(recordings) > 1
    if args.format != "jsonl" and several and args.out is None:
        parser().error(f"{len(recordings)} recordings as {args.format}: give --out FOLDER (one file each)")
    if args.format != "jsonl" and several:
        Path(args.out).mkdir(parents=True, exist_ok=True)
    try:
        transcriber = transcriber_for(
            args.model,
            decode_config(args),
            args.device,
            chunk_seconds=args.chunk_seconds,
            context_seconds=args.context_seconds,
            batch_size=args.batch_size,
        )
    except (FileNotFoundError, ValueError, OSError) as error:
        console.print(f"[red]{args.model}: {error}")
        return 2
    itn = args.itn if args.itn is not None else speaks_numbers(transcriber.decoding.tokenizer.get_vocab())
    done: list[Transcript] = []
    failed = 0
    out = open(args.out, "w", encoding="utf-8") if args.out and args.format == "jsonl" else sys.stdout  # noqa: SIM115
    started = time.perf_counter()
    try:
        for source in track(files, description=f"transcribing {plural(len(recordings), 'file')}", console=console):
            try:
                if source.error is not None:
                    raise ValueError(source.error)
                transcript = transcriber(source.path)
                if itn:
                    transcript = transcript.written()
            except Exception as error:  # one unreadable file must not stop the others
                failed += 1
                message = f"{type(error).__name__}: {error}".strip()
                console.print(f"[red]{source.path}: {message}")
                if args.format == "jsonl":
                    out.write(json.dumps({"file": str(source.path), "error": message}, ensure_ascii=False) + "\n")
                continue
            done.append(transcript)
            if args.format == "jsonl":
                out.write(json.dumps(transcript.to_dict(), ensure_ascii=False) + "\n")
                out.flush()
            elif (target := subtitle_path(args.out, source.path, args.format, several)) is not None:
                target.write_text(render(transcript, args.format), encoding="utf-8")
            else:
                out.write(render(transcript, args.format))
    finally:
        if out is not sys.stdout:
            out.close()
    wall = time.perf_counter() - started
    audio = sum(t.duration for t in done)
    rtf = f"real-time factor {wall / audio:.4f}, " if audio else ""
    console.print(
        f"{len(done)} transcribed, {failed} failed: {audio:.1f} s of audio in {wall:.1f} s "
        f"({rtf}{transcriber.decoding.description}, {transcriber.device})"
    )
    return min(failed, 255)


if __name__ == "__main__":
    sys.exit(main())
