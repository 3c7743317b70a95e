"""``vasr-slu ASR_MODEL NLU_MODEL AUDIO... [--out FILE]`` (``python -m vasr.slu``): intents and entities of
recordings.

ASR_MODEL: an export folder, ``.ckpt`` or hub id, decoded with its n-gram LM when it has one; NLU_MODEL: an NLU
model folder (``train.py`` writes ``RUN/nlu``). AUDIO: files, folders or JSONL manifests. The transcript goes
through the inverse text normalisation (spoken numbers written: "bảy mươi ba phần trăm" -> "73%") to the NLU
model. One JSON line per file in the SoICT 2023 submission shape, ``{"file", "intent", "entities": [{"type",
"filler"}], "text"}``; a file that cannot be read gets ``{"file", "error"}`` and the rest go on; the exit
status is the number of failures.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import track

from vasr.console import quiet_libraries
from vasr.decoding.config import DecodeConfig
from vasr.infer.recordings import audio_files, transcriber_for
from vasr.slu.model import NluModel
from vasr.text.itn import inverse_normalize


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="vasr-slu", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("asr_model", help="ASR export folder, .ckpt file or hub id")
    parser.add_argument("nlu_model", help="NLU model folder (RUN/nlu)")
    parser.add_argument("audio", nargs="+", help="audio files, folders or JSONL manifests")
    parser.add_argument("--out", help="write here instead of standard output")
    parser.add_argument("--audio-dir", help="folder a manifest's file entries are relative to")
    parser.add_argument("--greedy", action="store_true", help="greedy ASR decoding even if the model has an n-gram")
    parser.add_argument("--device", default="auto", help="auto (the GPU if there is one), cpu, cuda (%(default)s)")
    args = parser.parse_args(argv)
    quiet_libraries()
    console = Console(stderr=True)
    files = audio_files(args.audio, args.audio_dir)
    if not any(source.error is None for source in files):
        console.print(f"[red]no audio files found in {' '.join(args.audio)}")
        return 2
    try:
        transcriber = transcriber_for(args.asr_model, DecodeConfig(lm=None if args.greedy else "auto"), args.device)
        nlu = NluModel.load(args.nlu_model)
    except (FileNotFoundError, ValueError, OSError) as error:
        console.print(f"[red]{error}")
        return 2
    failed = 0
    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout  # noqa: SIM115
    try:
        for source in track(files, description=f"understanding {len(files)} files", console=console):
            try:
                if source.error is not None:
                    raise ValueError(source.error)
                text = inverse_normalize(transcriber(source.path).text)
            except Exception as error:  # one unreadable file must not stop the others
                failed += 1
                message = f"{type(error).__name__}: {error}".strip()
                console.print(f"[red]{source.path}: {message}")
                out.write(json.dumps({"file": str(source.path), "error": message}, ensure_ascii=False) + "\n")
                continue
            row = {"file": Path(source.path).name, **nlu.predict([text])[0].to_record(), "text": text}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    console.print(
        f"{len(files) - failed} understood, {failed} failed ({transcriber.decoding.description}, {transcriber.device})"
    )
    return min(failed, 255)


if __name__ == "__main__":
    sys.exit(main())
