"""Utterances per second read from files and from shards, here and on a slow file system.

A synthesised corpus (``--num`` utterances, 16 kHz 16-bit WAVs, made once under ``--folder``) is read as a
training epoch by the training loader's dataset, through the sampler that plans it (audio read and decoded,
transcript tokenised; no collation, no augmentation, no workers): from its WAV files, and from ``vasr-shard``'s
shards holding the WAVs' own bytes (the default) and as FLAC. ``*_raw`` readers time the reading and decoding
alone (files in a random order, shards in order), and with ``--libraries`` (webdataset and lhotse importable)
WebDataset's and lhotse Shar's own readers of the FLAC shards' audio. The slow file system adds ``--delay-ms`` to
every file open, for every reader: ``soundfile.read`` of a path (a file per utterance), and ``tarfile.open`` and
``open`` (a shard per thousand). Readers alternate over ``--rounds``; each one's best round counts.

    python bench/shards.py   ->  RESULT shards_read <shards (default) / files, utterances per second, dataset level>
                                 RESULT shards_read_slow <the same with the delay per open>
                                 RESULT shards_flac_read[_slow] <FLAC shards / files>
                                 RESULT <reader>_raw[_slow] <that reader / files, reading and decoding alone>
                                 RESULT shards_left_out <share of an epoch past the equal share, 80 shards, 8 readers>
"""

from __future__ import annotations

import argparse
import builtins
import contextlib
import json
import random
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import soundfile as sf
from common import real_shaped_durations
from torch.utils.data import DataLoader

from vasr.audio import decode_audio, load_audio, to_mono
from vasr.data.datamodule import SpeechDataModule
from vasr.data.shard_sampler import ShardBatchSampler
from vasr.data.shards import STRIDE, ShardLayout, StreamReader, shard_manifests, write_shards
from vasr.data.splits import load_splits
from vasr.text.vocab import build_vocab, make_tokenizer, save_vocab


def corpus(folder: Path, num: int) -> Path:
    """``folder/corpus``: ``num`` synthesised utterances, made on the first run."""
    root = folder / "corpus"
    if not (root / "manifest.jsonl").exists():
        from vasr.synth import write_corpus

        write_corpus(root, num, seed=0, workers=2)
    return root


def shard_folder(splits: dict, folder: Path, audio: str) -> tuple[Path, float]:
    """Shards of the corpus (1000 utterances each) and the seconds writing them took (0 when already there)."""
    out = folder / f"shards-{audio}"
    if (out / "shards.json").exists():
        return out, 0.0
    started = time.perf_counter()
    write_shards(splits, out, shard_size=1000, audio=audio)
    return out, time.perf_counter() - started


@contextlib.contextmanager
def slow_opens(delay: float) -> Iterator[None]:
    """Every open of a file by any reader waits ``delay`` seconds first (a network file system's latency):
    ``soundfile.read`` of a path, ``tarfile.open``, and Python's ``open`` (WebDataset's and lhotse's shards)."""
    read, open_tar, open_file = sf.read, tarfile.open, builtins.open

    def slow(function: Callable) -> Callable:
        def opened(*args, **kwargs):
            if isinstance(args[0] if args else kwargs.get("name"), (str, Path)):  # a path, not an open file object
                time.sleep(delay)
            return function(*args, **kwargs)

        return opened

    sf.read, tarfile.open, builtins.open = slow(read), slow(open_tar), slow(open_file)
    try:
        yield
    finally:
        sf.read, tarfile.open, builtins.open = read, open_tar, open_file


def dataset_epoch(splits: dict, tokenizer) -> Callable[[], int]:
    """One training epoch as the loader's dataset reads it (audio read and decoded, transcript tokenised), without
    the collation into model inputs (the same for both); returns the utterances read."""

    def epoch() -> int:
        datamodule = SpeechDataModule(splits, tokenizer, max_seconds=30.0, num_workers=0, shuffle_buffer=2000)
        loader = DataLoader(datamodule.datasets["train"], batch_sampler=datamodule.train_sampler, collate_fn=len)
        return sum(loader)

    return epoch


def files_raw(splits: dict) -> Callable[[], int]:
    """Each file decoded to 16 kHz mono, in a random order (as training reads files)."""
    paths = list(splits["train"].column("path"))
    random.Random(0).shuffle(paths)
    return lambda: sum(1 for path in paths if len(load_audio(path)))


def shards_raw(shards: Path) -> Callable[[], int]:
    """Each shard member decoded to 16 kHz mono, shard after shard."""
    paths = [str(p) for p in sorted(shards.glob("train-*.tar"))]
    whole = [(path, 0, STRIDE, 0) for path in paths]  # each shard one piece, all its members
    return lambda: sum(1 for _, data in StreamReader(whole).iterate(0) if len(decode_audio(data)))


def webdataset_epoch(shards: Path) -> Callable[[], int]:
    import webdataset as wds

    urls = [str(p) for p in sorted(shards.glob("train-*.tar"))]

    def epoch() -> int:
        dataset = wds.WebDataset(urls, shardshuffle=False, empty_check=False).shuffle(2000).to_tuple("flac", "json")
        return sum(1 for audio, _ in dataset if len(decode_audio(audio)))  # 16 kHz mono, as vasr decodes

    return epoch


def lhotse_epoch(splits: dict, folder: Path) -> Callable[[], int]:
    from lhotse import CutSet, MonoCut, Recording
    from lhotse.supervision import SupervisionSegment

    out = folder / "shar"
    if not out.exists():
        cuts = []
        for item in splits["train"]:
            recording = Recording.from_file(item.path, recording_id=item.id)
            cut = MonoCut(item.id, 0.0, recording.duration, 0, recording=recording)
            cut.supervisions = [SupervisionSegment(item.id, item.id, 0.0, recording.duration, text=item.text)]
            cuts.append(cut)
        out.mkdir(parents=True)
        CutSet.from_cuts(cuts).to_shar(out, fields={"recording": "flac"}, shard_size=1000)

    def epoch() -> int:
        cuts = CutSet.from_shar(in_dir=out).shuffle(buffer_size=2000)
        return sum(1 for cut in cuts if len(to_mono(cut.load_audio().T, cut.sampling_rate)))  # 16 kHz, as vasr

    return epoch


def left_out(shards: int, readers: tuple[int, int], size: int = 1000, last: int = 437) -> float:
    """The share of an epoch's utterances past the readers' equal share of batches: ``shards`` shards of ``size``
    real-shaped utterances (the last one of ``last``) on ``ranks × workers`` readers, ``preset=gpu``'s 200 s
    batches, the default 2000-utterance buffer (the plan alone: no audio)."""
    sizes = [size] * (shards - 1) + [last]
    layout = ShardLayout(
        tuple(f"train-{i:06d}.tar" for i in range(shards)),
        np.repeat(np.arange(shards), sizes),
        np.concatenate([np.arange(n) for n in sizes]),
        np.zeros(sum(sizes), dtype=np.int64),  # header offsets: the plan does not read
    )
    durations = np.asarray(real_shaped_durations(sum(sizes)))
    ranks, workers = readers
    plan = ShardBatchSampler(durations, layout, workers=workers, world_size=ranks, max_seconds=200.0)
    return 1 - sum(len(batch) for batch in plan.epoch_batches(0)) / len(durations)


def timed(read: Callable[[], int]) -> float:
    started = time.perf_counter()
    count = read()
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path, default=Path("runs/bench_shards"))
    parser.add_argument("--num", type=int, default=3000)
    parser.add_argument("--delay-ms", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--libraries", action="store_true", help="also webdataset's and lhotse's own readers")
    parser.add_argument("--quick", action="store_true", help="300 utterances, one round")
    args = parser.parse_args()
    if args.quick:
        args.num, args.rounds, args.folder = 300, 1, args.folder.with_name(args.folder.name + "_quick")
    folder = args.folder
    root = corpus(folder, args.num)
    files, _ = load_splits(root / "manifest.jsonl", root / "audio", val_ratio=0.0, test_ratio=0.0)
    tokenizer = make_tokenizer(save_vocab(build_vocab("corpus", (i.text for i in files["train"])), folder))
    readers: dict[str, Callable[[], int]] = {"files": dataset_epoch(files, tokenizer), "files_raw": files_raw(files)}
    sizes = {"files": sum(Path(item.path).stat().st_size for item in files["train"])}
    for audio in ("flac", "original"):
        out, seconds = shard_folder(files, folder, audio)
        manifests = shard_manifests(out)
        sharded, _ = load_splits(manifests["train"], out, verify_durations="none", val_ratio=0.0, test_ratio=0.0)
        readers[f"shards_{audio}"] = dataset_epoch(sharded, tokenizer)
        readers[f"shards_{audio}_raw"] = shards_raw(out)
        sizes[f"shards_{audio}"] = sum(p.stat().st_size for p in out.glob("*.tar"))
        if seconds:
            print(f"wrote {out} in {seconds:.1f} s")
    if args.libraries:
        readers["webdataset_flac_raw"] = webdataset_epoch(folder / "shards-flac")
        readers["lhotse_shar_flac_raw"] = lhotse_epoch(files, folder)
    hours = float(files["train"].durations.sum()) / 3600
    print(f"{len(files['train'])} utterances, {hours:.2f} h; bytes: " + json.dumps(sizes))
    rates: dict[tuple[str, bool], float] = {}
    for _ in range(args.rounds):
        for slow in (False, True):
            for name, read in readers.items():
                with slow_opens(args.delay_ms / 1000) if slow else contextlib.nullcontext():
                    rate = timed(read)
                rates[name, slow] = max(rates.get((name, slow), 0.0), rate)
                print(f"{name:18s} {'slow' if slow else 'local'}: {rate:8.1f} utterances/s")
    for name in readers:
        print(f"{name:18s} local {rates[name, False]:8.1f}, +{args.delay_ms:g} ms per open {rates[name, True]:8.1f}")
    for count, (ranks, workers) in ((13, (2, 2)), (40, (2, 4)), (80, (2, 4)), (160, (4, 4)), (400, (4, 4))):
        share = left_out(count, (ranks, workers))
        print(f"left out: {count} shards of 1000 on {ranks} ranks x {workers} workers: {share:.2%}")
    print(f"RESULT shards_left_out {left_out(80, (2, 4)):.4f}")
    for shards, name in (("shards_original", "shards"), ("shards_flac", "shards_flac")):
        print(f"RESULT {name}_read {rates[shards, False] / rates['files', False]:.3f}")
        print(f"RESULT {name}_read_slow {rates[shards, True] / rates['files', True]:.3f}")
    for name in readers:
        if name.endswith("_raw") and name != "files_raw":
            print(f"RESULT {name} {rates[name, False] / rates['files_raw', False]:.3f}")
            print(f"RESULT {name}_slow {rates[name, True] / rates['files_raw', True]:.3f}")


if __name__ == "__main__":
    main()
