import pickle
from dataclasses import replace

import numpy as np
import pytest

import vasr.data.index as index_module
from vasr.data.index import IndexBuilder, Item, UtteranceIndex, values

ITEMS = [
    Item(f"u{i}", text, f"/audio/{i}.wav", 1.0 + i / 4, i + 1, text.upper(), "m.jsonl")
    for i, text in enumerate(["bật đèn", "tắt quạt phòng ngủ", "", "mở rèm"])
]


def test_items_come_back_as_they_went_in():
    index = UtteranceIndex.of(ITEMS)
    assert list(index) == ITEMS and len(index) == 4 and index[-1] == ITEMS[-1]
    assert list(index.column("text")) == [item.text for item in ITEMS]
    assert index.durations.tolist() == [item.duration for item in ITEMS]
    with pytest.raises(IndexError):
        index[4]


def test_take_by_positions_mask_and_slice():
    index = UtteranceIndex.of(ITEMS)
    assert list(index.take(np.array([3, 1]))) == [ITEMS[3], ITEMS[1]]
    assert list(index.take(np.array([True, False, True, False]))) == [ITEMS[0], ITEMS[2]]
    assert list(index[1:3]) == ITEMS[1:3] and list(index.take(np.array([], dtype=int))) == []


def test_held_in_a_few_objects_whatever_its_size():
    """Workers inherit the index: its size in objects must not grow with the corpus (pytorch/pytorch#13246)."""
    many = UtteranceIndex.of(ITEMS * 1000)
    assert len(many) == 4000 and many[3999] == ITEMS[3]
    assert pickle.loads(pickle.dumps(many))[2001] == ITEMS[1]
    held = [many.durations, many.lines, *many.columns.values()]
    strings = [many.column(name) for name in ("id", "text", "sentence")] + [many.column("path").names]
    assert all(isinstance(column.blob, bytes) for column in strings) and len(held) == 7
    assert all(column.offsets.dtype == np.int32 for column in strings)  # 4 bytes a row under 2 GiB of text
    manifests = many.column("manifest")  # a code per row, each manifest's name once
    assert manifests.codes.dtype == np.int32 and len(manifests.names) == len({item.manifest for item in ITEMS})
    folders = many.column("path").folders  # each folder once, the file names apart
    assert list(folders.names) == ["/audio/"] and many.column("path").names[5] == "1.wav"


def test_paths_with_and_without_folders_come_back_whole():
    paths = ["/a/b/x.wav", "rel/y.flac", "bare.wav", "/a/b/z.wav", "/s/t-000001.tar#000017@84992", "/end/"]
    items = [Item(f"u{i}", "t", path, 1.0, i) for i, path in enumerate(paths)]
    index = UtteranceIndex.of(items)
    assert list(index.column("path")) == paths and index.column("path")[4] == paths[4]
    assert list(index.column("path").folders.names) == ["/a/b/", "rel/", "", "/s/", "/end/"]
    joined = UtteranceIndex.concat([index.take(np.array([5, 0])), UtteranceIndex.from_arrays(index.arrays())])
    assert list(joined.column("path")) == [paths[5], paths[0], *paths]


def test_a_repeated_column_joins_takes_and_travels_as_arrays():
    one = UtteranceIndex.of([replace(item, manifest="a.jsonl") for item in ITEMS])
    other = UtteranceIndex.of([replace(item, manifest=name) for item, name in zip(ITEMS, "bab", strict=False)])
    joined = UtteranceIndex.concat([one, other.take(np.array([2, 0, 1]))])
    assert list(joined.column("manifest")) == ["a.jsonl"] * 4 + ["b", "b", "a"]
    assert list(joined.column("manifest").names) == ["a.jsonl", "b", "a"]
    again = UtteranceIndex.from_arrays(joined.arrays())
    assert list(again) == list(joined) and again[5].manifest == "b"


def test_corpora_concatenated_with_their_ids_prefixed():
    """Several corpora's splits as one: every column in order, taken parts included, ids kept apart by a prefix."""
    index = UtteranceIndex.of(ITEMS)
    parts = [index.take(np.array([2, 0])).prefixed("vivos/"), UtteranceIndex.of([]), index[3:].prefixed("cv/")]
    joined = UtteranceIndex.concat(parts)
    assert [item.id for item in joined] == ["vivos/u2", "vivos/u0", "cv/u3"]
    renamed = [replace(ITEMS[2], id="vivos/u2"), replace(ITEMS[0], id="vivos/u0"), replace(ITEMS[3], id="cv/u3")]
    assert list(joined) == renamed and list(joined.take(np.array([2, 0]))) == renamed[::-2]
    assert len(UtteranceIndex.concat([])) == 0


def test_built_and_iterated_in_chunks_as_appended(monkeypatch):
    """The builder encodes, a column iterates and numbers are handed out a chunk at a time: chunk edges must not
    show."""
    monkeypatch.setattr(index_module, "CHUNK", 3)
    builder = IndexBuilder()
    for item in ITEMS * 2:
        builder.append(item)
    index = builder.build()
    assert list(index) == ITEMS * 2 and len(builder) == 8
    assert list(index.column("path")) == [item.path for item in ITEMS * 2]
    assert list(values(index.durations)) == [item.duration for item in ITEMS * 2]
    assert list(IndexBuilder().build()) == []


def test_a_column_iterates_and_joins_its_strings():
    texts = UtteranceIndex.of(ITEMS).column("text")
    assert list(texts) == [item.text for item in ITEMS] and texts[1] == ITEMS[1].text
    assert texts.joined() == "".join(item.text for item in ITEMS)


def test_paths_resolved_a_folder_at_a_time(tmp_path, monkeypatch):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    monkeypatch.chdir(tmp_path)
    paths = [str(tmp_path / "link" / "a.wav"), "real/b.wav", "c.wav", str(tmp_path / "link" / "d.wav")]
    index = UtteranceIndex.of([Item(f"u{i}", "t", path, 1.0, i) for i, path in enumerate(paths)])
    real = str(tmp_path.resolve() / "real")
    assert list(index.column("path").resolved()) == [f"{real}/a.wav", f"{real}/b.wav", f"{tmp_path.resolve()}/c.wav",
                                                     f"{real}/d.wav"]  # fmt: skip
