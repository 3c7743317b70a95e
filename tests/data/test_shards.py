import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from tests.upstream import reader_works, webdataset_reads_its_own_shard
from vasr.audio import MEMBER_MARK, DurationCache, decode_audio, load_audio
from vasr.data.index import UtteranceIndex
from vasr.data.manifest import ManifestError, read_manifest
from vasr.data.shards import STRIDE, ShardError, ShardLayout, StreamReader, is_sharded, shard_manifests, write_shards
from vasr.data.splits import load_splits


def file_splits(corpus: Path) -> dict:
    return load_splits(corpus / "manifest.jsonl", corpus / "audio", val_ratio=0.25, test_ratio=0.25)[0]


def sharded_splits(folder: Path) -> dict:
    """The splits a run with ``data.shards=folder`` trains on."""
    manifests = shard_manifests(folder)
    return load_splits(
        manifests["train"],
        folder,
        val_manifest=manifests["val"],
        test_manifest=manifests["test"],
        verify_durations="none",
    )[0]


@pytest.fixture(scope="module")
def shards(corpus, tmp_path_factory) -> Path:
    """The test corpus's 12 training utterances in shards of 5 (5, 5 and 2), its 6 validation and 6 test ones in
    shards of 5 and 1, FLAC."""
    folder = tmp_path_factory.mktemp("shards")
    write_shards(file_splits(corpus), folder, shard_size=5, audio="flac")
    return folder


def test_shards_hold_the_training_audio_sample_for_sample_and_index_it(corpus, shards):
    files = file_splits(corpus)
    summary = json.loads((shards / "shards.json").read_text())
    assert summary["shards"] == {"train": 3, "val": 2, "test": 2}
    assert summary["utterances"] == {"train": 12, "val": 6, "test": 6}
    splits = sharded_splits(shards)
    assert all(is_sharded(splits[name]) for name in ("train", "val", "test"))  # the folder holds all a run reads
    for name in ("train", "val", "test"):
        by_id = {item.id: item for item in files[name]}
        assert sorted(by_id) == sorted(item.id for item in splits[name])
        for item in splits[name]:
            original = by_id[item.id]
            assert (item.text, item.sentence, item.duration) == (original.text, original.sentence, original.duration)
            assert np.array_equal(load_audio(item.path), load_audio(original.path))  # lossless, member read by path
    assert [i.id for i in splits["val"]] == [i.id for i in files["val"]]  # evaluation sets keep their order


def test_a_shard_is_a_plain_tar_in_webdataset_layout(shards):
    with tarfile.open(shards / "train-000002.tar") as tar:
        names = tar.getnames()
        meta = json.loads(tar.extractfile("000001.json").read())
    assert names == ["000000.flac", "000000.json", "000001.flac", "000001.json"]
    index = [json.loads(line) for line in (shards / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    name, _, offset = index[11]["file"].partition("@")
    assert name == "train-000002.tar#000001" and index[11]["id"] == meta["id"]
    with (shards / "train-000002.tar").open("rb") as file:
        file.seek(int(offset))  # the index says where the member's header starts
        with tarfile.open(fileobj=file, mode="r:") as tar:
            assert tar.next().name == "000001.flac"


def test_original_bytes_are_kept_as_they_are(corpus, tmp_path):
    files = file_splits(corpus)
    write_shards(files, tmp_path, shard_size=100, audio="original")
    with tarfile.open(tmp_path / "train-000000.tar") as tar:
        stored = tar.extractfile("000000.wav").read()
    assert stored == Path(files["train"][0].path).read_bytes()


def test_layout_orders_each_shards_members_and_cuts_them_into_pieces(shards):
    layout = ShardLayout.of(sharded_splits(shards)["train"])
    assert [Path(p).name for p in layout.paths] == ["train-000000.tar", "train-000001.tar", "train-000002.tar"]
    assert layout.members(2).tolist() == [10, 11] and layout.member[layout.members(1)].tolist() == [0, 1, 2, 3, 4]
    pieces = layout.pieces(2)
    assert [piece[:3] for piece, _ in pieces] == [(0, 0, 3), (0, 3, 5), (1, 0, 3), (1, 3, 5), (2, 0, 1), (2, 1, 2)]
    assert sorted(row for _, rows in pieces for row in rows) == list(range(12))


def test_a_reader_reads_forward_from_its_watermark_and_again_when_asked_for_a_passed_member(shards):
    paths = [str(shards / "train-000001.tar"), str(shards / "train-000000.tar")]  # a stream's own order
    expected = {p * STRIDE + m: load_audio(f"{paths[p]}#{m:06d}") for p in (0, 1) for m in range(5)}
    pieces = [(paths[0], 0, 5, 0), (paths[1], 0, 5, 0)]
    reader = StreamReader(pieces)
    first = reader.read(STRIDE + 3, watermark=STRIDE)  # a resumed reader: the first shard is not opened
    assert reader.head == STRIDE + 3 and sorted(reader.buffer) == [STRIDE, STRIDE + 1, STRIDE + 2]
    reader.read(STRIDE + 1, watermark=STRIDE + 1)
    assert sorted(reader.buffer) == [STRIDE + 2]  # the member before the watermark is dropped
    assert reader.read(STRIDE + 1, watermark=STRIDE + 1)  # served twice: read again
    fresh = StreamReader(pieces)
    assert np.array_equal(decode_audio(fresh.read(STRIDE + 3, 0)), decode_audio(first))
    assert np.array_equal(decode_audio(fresh.read(2, 0)), expected[2])
    with pytest.raises(ShardError, match="train-000000.tar: no member 000007"):
        fresh.read(STRIDE + 7, 0)
    layout = ShardLayout.of(sharded_splits(shards)["train"])
    (_, first, end, offset), _ = layout.pieces(2)[1]  # members 3 and 4 of the first shard, read from member 3
    assert offset > 0 and [p for p, _ in StreamReader([(layout.paths[0], first, end, offset)]).iterate(0)] == [3, 4]


def test_a_folder_without_shards_is_refused(tmp_path):
    with pytest.raises(ManifestError, match="no shards.json"):
        shard_manifests(tmp_path)


def test_files_among_shard_members_are_refused(corpus, shards):
    splits = sharded_splits(shards)
    mixed = UtteranceIndex.of([*splits["train"][:2], *file_splits(corpus)["val"][:1]])
    with pytest.raises(ShardError, match="not a shard member"):
        ShardLayout.of(mixed)


def test_webdataset_reads_the_shards_as_they_are(shards, tmp_path):
    wds = pytest.importorskip("webdataset")
    reader_works("webdataset", lambda: webdataset_reads_its_own_shard(tmp_path))
    urls = [str(path) for path in sorted(shards.glob("train-*.tar"))]
    samples = list(wds.WebDataset(urls, shardshuffle=False, empty_check=False).to_tuple("flac", "json"))
    index = sharded_splits(shards)["train"]
    assert [json.loads(meta)["id"] for _, meta in samples] == list(index.column("id"))
    for (audio, _), item in zip(samples, index, strict=True):
        assert np.array_equal(decode_audio(audio), load_audio(item.path))


def test_a_shard_folders_manifest_read_as_any_other_has_its_members_verified(shards, tmp_path):
    """``val.jsonl`` of a shard folder given where a manifest goes (``data.val_manifest``, ``data.test_sets``),
    without ``data.shards``: every member's header read as a file's is, a missing shard or a wrong duration named."""
    items, report = read_manifest(shards / "val.jsonl", shards, verify_durations="all", cache=DurationCache())
    assert report.kept == 6 and all(MEMBER_MARK in item.path for item in items)
    rows = [json.loads(line) for line in (shards / "val.jsonl").read_text(encoding="utf-8").splitlines()]
    rows[0]["file"] = rows[0]["file"].replace("val-000000.tar", "val-000009.tar")
    rows[1]["duration"] += 1.0
    bad = tmp_path / "val.jsonl"
    bad.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    for name in ("val-000000.tar", "val-000001.tar"):
        (tmp_path / name).symlink_to(shards / name)
    items, report = read_manifest(bad, tmp_path, verify_durations="all", skip_bad=True, cache=DurationCache())
    assert report.kept == 4 and report.skipped == {"audio file missing": 1, "duration mismatch": 1}
