"""``vasr-transcribe MODEL AUDIO... [--out PATH] [--format jsonl|srt|vtt]``: transcribe recordings.

MODEL: an export folder (train.py's ``export/``), a ``.ckpt`` or a hub id. AUDIO: files, folders
(searched for audio files) or JSONL manifests (their ``file`` entries, relative to ``--audio-dir``,
by default the manifest's folder). Spoken numbers are written as digits (``--itn``, on by default for models
trained on spoken numbers), word times kept. One JSON line per file, in input order, ``{file, text, duration,
confidence, words: [{word, start, end, confidence}]}``; a file (or manifest line) that cannot be read gets ``{file,
error}`` and the rest go on; the exit status is the number of failures. Subtitles: one .srt/.vtt per audio file
(``--out`` a file for one recording, a folder for several). Decoding is beam search with the model folder's n-gram
(``language_model/``) when it has one, else greedy; ``--hotword`` biases the search toward words.

Files are batched together (``--batch-seconds`` of padded audio per forward pass, read in ``--workers``
processes) without changing a word; ``--resume`` goes on with an output a killed run left. Under ``torchrun`` or
``srun`` each rank takes its share of the files and rank 0 joins the outputs in input order; ``--part K/N`` takes
share K of N (a SLURM array task). Also ``python -m vasr.infer.transcribe``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TextIO

import torch
from rich.console import Console
from rich.progress import track

from vasr.audio import Recording
from vasr.console import quiet_libraries
from vasr.decoding.config import DecodeConfig
from vasr.infer.recordings import Source, audio_files, transcriber_for
from vasr.infer.shares import (
    Ranks,
    all_done,
    cut_after,
    join,
    launched_ranks,
    parse_part,
    process_group,
    share,
    written_files,
)
from vasr.infer.subtitles import render
from vasr.infer.transcriber import Failure, Transcriber
from vasr.infer.vad import KINDS


def plural(count: int, noun: str) -> str:
    """``1 file``, ``2 files``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def decode_config(args: argparse.Namespace) -> DecodeConfig:
    """The command line as a decoding config: the model's own n-gram (``auto``) unless told otherwise."""
    lm = None if args.greedy else (args.lm or "auto")
    beam = {k: v for k, v in {"alpha": args.alpha, "beta": args.beta}.items() if v is not None}
    return DecodeConfig(lm=lm, beam=beam, hotwords=args.hotword, hotword_weight=args.hotword_weight)


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
    found.add_argument(
        "--batch-seconds", type=float, default=120.0, help="padded audio per forward pass, in seconds (%(default)s)"
    )
    found.add_argument(
        "--workers", type=int, default=1, help="processes reading and resampling the audio (%(default)s)"
    )
    found.add_argument(
        "--vad",
        choices=KINDS,
        default="auto",
        help="how speech is found: silero-vad, the energy rule, or auto (silero when installed) (%(default)s)",
    )
    found.add_argument(
        "--plan-seconds",
        type=float,
        default=600.0,
        help="audio gathered before it is sorted into batches: more, less padding and more memory (%(default)s)",
    )
    found.add_argument("--resume", action="store_true", help="go on with the JSONL --out a killed run left")
    found.add_argument("--part", help="K/N: transcribe share K (from 0) of N, balanced by duration (SLURM arrays)")
    found.add_argument(
        "--mark-below", type=float, help="srt/vtt: words less sure than this confidence (0-1) in italics"
    )
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


def durations(sources: list[Source]) -> list[float]:
    """Each source's seconds, for sharing the files out: a manifest's own, else the header's (0 when unreadable)."""
    found = []
    for source in sources:
        if source.duration is None and source.error is None:
            try:
                source = Source(source.path, duration=Recording(source.path).duration)
            except Exception:  # unreadable: reported when its turn comes
                source = Source(source.path, duration=0.0)
        found.append(source.duration or 0.0)
    return found


def my_sources(files: list[Source], part: str | None, ranks: Ranks) -> list[Source]:
    """The files this process transcribes: its rank's share of the ``--part`` share (all of them by default)."""
    if part is None and ranks.world == 1:
        return files
    if part is not None:
        files = [files[i] for i in share(durations(files), *parse_part(part))]
    return [files[i] for i in share(durations(files), ranks.rank, ranks.world)]


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    quiet_libraries()
    if args.greedy and (args.hotword or args.lm):
        parser().error("--greedy decodes without a beam: --hotword and --lm need one")
    if args.resume and (args.format != "jsonl" or args.out is None):
        parser().error("--resume goes on with a JSONL file: give --out FILE")
    try:
        ranks, environment = launched_ranks()
    except RuntimeError as error:
        parser().error(str(error))
    if ranks.world > 1 and args.format == "jsonl" and args.out is None:
        parser().error(f"{ranks.world} ranks write their shares to files: give --out FILE")
    console = Console(stderr=True)
    files = audio_files(args.audio, args.audio_dir)
    if not any(s.error is None for s in files):
        console.print(f"[red]no audio files found in {' '.join(args.audio)}")
        return 2
    several = len(files) > 1
    if args.format != "jsonl" and several and args.out is None:
        parser().error(f"{len(files)} recordings as {args.format}: give --out FOLDER (one file each)")
    if args.format != "jsonl" and several:
        Path(args.out).mkdir(parents=True, exist_ok=True)
    if args.part is not None:
        try:
            parse_part(args.part)
        except ValueError as error:
            parser().error(str(error))
    loading = time.perf_counter()
    try:
        transcriber = transcriber_for(
            args.model,
            decode_config(args),
            args.device if ranks.world == 1 or args.device != "auto" else device_of(ranks),
            chunk_seconds=args.chunk_seconds,
            context_seconds=args.context_seconds,
            batch_seconds=args.batch_seconds,
            plan_seconds=args.plan_seconds,
            workers=args.workers,
            vad=args.vad,
        )
    except (FileNotFoundError, ValueError, OSError, ImportError) as error:
        console.print(f"[red]{args.model}: {error}")
        return 2
    itn = args.itn if args.itn is not None else speaks_numbers(transcriber.decoding.tokenizer.get_vocab())
    with process_group(ranks, environment) as group:
        mine = my_sources(files, args.part, ranks)
        jsonl = Path(args.out) if args.out and args.format == "jsonl" else None
        target = ranks.part_path(jsonl) if jsonl else None
        done, kept = written_files(target) if args.resume and target else ([], 0)
        if done != [str(s.path) for s in mine[: len(done)]]:
            console.print(f"[red]{target}: its lines are not the first of these files: not this command's output")
            return 2
        if args.resume:
            cut_after(target, kept)
        todo = mine[len(done) :]
        out = target.open("a" if args.resume else "w", encoding="utf-8") if target else sys.stdout
        started = time.perf_counter()
        try:
            written, failed, audio = write_all(transcriber, todo, args, itn, out, console, several)
        finally:
            if out is not sys.stdout:
                out.close()
        wall = time.perf_counter() - started
        all_done(group)
        if jsonl and ranks.world > 1 and ranks.rank == 0:
            join(jsonl, ranks)
    skipped = f", {plural(len(mine) - len(todo), 'file')} already written" if done else ""
    rate = f"{audio / wall:.0f}x real time ({audio / (time.perf_counter() - loading):.0f}x with the model's loading)"
    console.print(
        f"{written} transcribed, {failed} failed{skipped}: {audio:.1f} s of audio in {wall:.1f} s, "
        f"{rate if audio and wall else 'no audio'} ({transcriber.decoding.description}, {transcriber.device}, "
        f"{transcriber.segmenter_description}{'' if ranks.world == 1 else f', rank {ranks.rank} of {ranks.world}'})"
    )
    return min(failed, 255)


def device_of(ranks: Ranks) -> str:
    """A rank's device under a launcher: a GPU by its local rank (among those it sees: ``srun --gpus-per-task 1``
    shows each task one), else the CPU."""
    if not torch.cuda.is_available():
        return "cpu"
    return f"cuda:{ranks.local % torch.cuda.device_count()}"


def write_all(
    transcriber: Transcriber,
    sources: list[Source],
    args: argparse.Namespace,
    itn: bool,
    out: TextIO,
    console: Console,
    several: bool,
) -> tuple[int, int, float]:
    """Each source's result written as it comes, in order: (transcribed, failed, seconds of audio transcribed)."""
    results = transcriber.transcribe([s.path for s in sources if s.error is None])
    written = failed = 0
    audio = 0.0
    for source in track(sources, description=f"transcribing {plural(len(sources), 'file')}", console=console):
        result = Failure(str(source.path), source.error) if source.error is not None else next(results)
        if isinstance(result, Failure):
            failed += 1
            console.print(f"[red]{result.file}: {result.error}")
            if args.format == "jsonl":
                out.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
            continue
        transcript = result.written() if itn else result
        written += 1
        audio += transcript.duration
        if args.format == "jsonl":
            out.write(json.dumps(transcript.to_dict(), ensure_ascii=False) + "\n")
            out.flush()
        elif (target := subtitle_path(args.out, source.path, args.format, several)) is not None:
            target.write_text(render(transcript, args.format, args.mark_below), encoding="utf-8")
        else:
            out.write(render(transcript, args.format, args.mark_below))
    return written, failed, audio


if __name__ == "__main__":
    sys.exit(main())
