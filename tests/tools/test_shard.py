import json

import pytest

from vasr.data.shards import shard_manifests
from vasr.tools.shard import main


def test_vasr_shard_writes_every_split_into_shards_and_names_the_option(corpus, tmp_path, capsys):
    out = tmp_path / "shards"
    main([str(corpus / "manifest.jsonl"), str(out), "--audio-dir", str(corpus / "audio"), "--shard-size", "5"])
    summary = json.loads((out / "shards.json").read_text())
    assert summary["shards"] == {"train": 4, "val": 1, "test": 1}
    assert summary["utterances"] == {"train": 20, "val": 2, "test": 2}
    tars = ["test-000000.tar", *(f"train-{i:06d}.tar" for i in range(4)), "val-000000.tar"]
    assert sorted(p.name for p in out.glob("*.tar")) == tars
    assert all(path.is_file() for path in shard_manifests(out).values())
    assert f"data.shards={out}" in capsys.readouterr().out


def test_vasr_shard_refuses_a_bad_manifest_with_its_lines(tmp_path):
    manifest = tmp_path / "bad.jsonl"
    manifest.write_text('{"id": "a", "sentence": "xin chào", "file": "missing.wav"}\n', encoding="utf-8")
    with pytest.raises(SystemExit, match="bad.jsonl:1: audio file missing") as refused:
        main([str(manifest), str(tmp_path / "out")])
    assert "--skip-bad" in str(refused.value) and "data.skip_bad" not in str(refused.value)
    assert "give their folder with --audio-dir" in str(refused.value)
