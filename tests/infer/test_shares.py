"""Shares of a file list for ranks and array tasks, and going on with an output a killed run left."""

import json

import pytest

from vasr.infer.shares import Ranks, cut_after, join, parse_part, share, written_files


def test_shares_are_contiguous_cover_every_file_once_and_balance_the_audio():
    durations = [5.0, 1.0, 1.0, 30.0, 2.0, 2.0, 2.0, 9.0, 4.0, 4.0]
    shares = [share(durations, k, 3) for k in range(3)]
    assert [i for s in shares for i in s] == list(range(len(durations)))
    totals = [sum(durations[i] for i in s) for s in shares]
    assert max(totals) - min(totals) <= max(durations)
    assert [list(share([5.0, 5.0], k, 2)) for k in range(2)] == [[0], [1]]  # ties: no share left empty
    assert [list(share([1.0] * 4, k, 4)) for k in range(4)] == [[0], [1], [2], [3]]
    assert [list(share([10.0, 1.0, 1.0], k, 2)) for k in range(2)] == [[0], [1, 2]]
    assert [list(share([], k, 2)) for k in range(2)] == [[], []]
    assert [len(share([1.0], k, 4)) for k in range(4)].count(1) == 1
    with pytest.raises(ValueError, match="from 0"):
        parse_part("3/3")


def test_a_torn_last_line_is_cut_and_the_complete_ones_are_kept(tmp_path):
    out = tmp_path / "out.jsonl"
    lines = [json.dumps({"file": f"{n}.wav", "text": "xin chào"}, ensure_ascii=False) + "\n" for n in range(3)]
    out.write_bytes("".join(lines).encode() + lines[0].encode()[:-9])  # killed inside a character's bytes
    files, kept = written_files(out)
    assert files == ["0.wav", "1.wav", "2.wav"] and out.stat().st_size > kept  # nothing cut before it is asked
    cut_after(out, kept)
    assert out.read_text(encoding="utf-8") == "".join(lines)
    assert written_files(tmp_path / "none.jsonl") == ([], 0)


def test_the_ranks_shares_join_in_rank_order(tmp_path):
    out = tmp_path / "out.jsonl"
    for rank in range(2):
        Ranks(rank, 2).part_path(out).write_text(f'{{"file": "{rank}"}}\n', encoding="utf-8")
    join(out, Ranks(0, 2))
    assert out.read_text(encoding="utf-8") == '{"file": "0"}\n{"file": "1"}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]
