"""``vasr-shard MANIFEST OUT``: a corpus's splits written into shards that ``data.shards=OUT`` trains from.

The manifest (any that ``data.manifest`` takes) is validated as a training run reads it and split the same way
(``--val-ratio``/``--test-ratio``/``--seed``, or ``--val-manifest``/``--test-manifest``); transcripts are stored
as the corpus writes them and normalised at training time. Validation and test are sharded too: OUT holds all a
run reads, to be copied to a cluster as it is.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from vasr.data.manifest import ManifestError
from vasr.data.shards import write_shards
from vasr.data.splits import load_splits


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="vasr-shard", description=__doc__)
    parser.add_argument("manifest", help="the corpus's manifest (vasr, NeMo, lhotse or a table)")
    parser.add_argument("out", type=Path, help="folder for {train,val,test}-NNNNNN.tar and .jsonl, shards.json")
    parser.add_argument("--audio-dir", type=Path, help="the folder relative file entries start from")
    parser.add_argument("--val-manifest", help="validation split (default: --val-ratio of the manifest)")
    parser.add_argument("--test-manifest", help="test split (default: --test-ratio of the manifest)")
    parser.add_argument("--val-ratio", type=float, default=0.1)
    parser.add_argument("--test-ratio", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0, help="the random split's seed (a run's seed)")
    parser.add_argument("--shard-size", type=int, default=1000, help="utterances per shard (default 1000)")
    parser.add_argument(
        "--audio",
        choices=["original", "flac"],
        default="original",
        help="original: every file's own bytes (default: the fastest to read); flac: PCM audio as lossless FLAC, "
        "smaller, slower to decode (docs/data.md)",
    )
    parser.add_argument("--skip-bad", action="store_true", help="skip bad rows (counted) instead of refusing")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        splits, reports = load_splits(
            args.manifest,
            args.audio_dir,
            val_manifest=args.val_manifest,
            test_manifest=args.test_manifest,
            val_ratio=args.val_ratio,
            test_ratio=args.test_ratio,
            seed=args.seed,
            skip_bad=args.skip_bad,
            skip_hint="--skip-bad (each is counted in the log)",
        )
    except ManifestError as error:  # the data's fault: its message, not a traceback
        message = str(error)
        if "audio file missing" in message and args.audio_dir is None:
            message += "\nRelative file entries start from the manifest's folder: give their folder with --audio-dir"
        sys.exit(message)
    for report in reports:
        logging.info("validation: %s", report.summary())
    summary = write_shards(splits, args.out, args.shard_size, args.audio)
    print(
        f"{args.out}: {summary['shards']['train']} shards of {summary['utterances']['train']} training utterances "
        f"({summary['train_hours']} h), validation and test in {summary['shards']['val']} and "
        f"{summary['shards']['test']} shards; train with data.shards={args.out}"
    )


if __name__ == "__main__":
    main()
