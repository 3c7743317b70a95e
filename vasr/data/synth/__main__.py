"""``python -m vasr.data.synth --out DIR --num N --seed S``: write a demo corpus."""

from __future__ import annotations

import argparse

from vasr.data.synth.corpus import write_corpus


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m vasr.data.synth", description=__doc__)
    parser.add_argument("--out", required=True, help="folder for manifest.jsonl and audio/")
    parser.add_argument("--num", type=int, default=3000, help="number of utterances")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    args = parser.parse_args(argv)
    manifest = write_corpus(args.out, args.num, args.seed, args.workers)
    print(f"wrote {args.num} utterances: {manifest}")


if __name__ == "__main__":
    main()
