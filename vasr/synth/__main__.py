"""``python -m vasr.synth --out DIR --num N --seed S [--text broad]``: write a synthetic corpus."""

from __future__ import annotations

import argparse

from vasr.synth.corpus import TEXT_KINDS, write_corpus


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="vasr-synth", description=__doc__)
    parser.add_argument("--out", required=True, help="folder for manifest.jsonl and audio/")
    parser.add_argument("--num", type=int, default=3000, help="number of utterances")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    parser.add_argument(
        "--text", choices=sorted(TEXT_KINDS), default="commands", help="smart-home commands or general text"
    )
    args = parser.parse_args(argv)
    manifest = write_corpus(args.out, args.num, args.seed, args.workers, text=args.text)
    print(f"wrote {args.num} utterances: {manifest}")


if __name__ == "__main__":
    main()
