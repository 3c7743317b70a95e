"""``vasr-prepare CORPUS SRC OUT``: a public corpus, as downloaded and unpacked, written as vasr manifests
``OUT/<split>.jsonl`` (with durations) that ``data.manifest=`` takes."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from vasr.data.manifest import ManifestError
from vasr.prepare import CORPORA, REPORT, prepare
from vasr.prepare.layout import Options


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="vasr-prepare", description=__doc__)
    parser.add_argument("corpus", choices=list(CORPORA))
    parser.add_argument("src", type=Path, help="the corpus folder (soict: a manifest, or a folder of them)")
    parser.add_argument("out", type=Path, help=f"folder for <split>.jsonl, {REPORT} and (tables) audio/")
    parser.add_argument("--skip-bad", action="store_true", help=f"skip bad rows, counted in OUT/{REPORT}")
    parser.add_argument("--audio-dir", type=Path, help="soict: the folder file entries are relative to")
    parser.add_argument("--audio-column", help="lsvsc, bud500: the audio column (default: audio)")
    parser.add_argument("--text-column", help="lsvsc, bud500: the text column (default: transcription)")
    parser.add_argument("--every", type=int, default=10000, help="log progress every N rows")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    options = Options(args.audio_dir, args.audio_column, args.text_column)
    try:
        reports = prepare(args.corpus, args.src, args.out, options, args.skip_bad, args.every)
    except ManifestError as error:
        sys.exit(str(error))  # the data's fault: its message, not a traceback
    for split in reports:
        print(args.out / f"{split}.jsonl")


if __name__ == "__main__":
    main()
