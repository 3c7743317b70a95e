"""The demo corpus's utterances, for laying out small folders in each public corpus's own layout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vasr.data.manifest import read_manifest


@pytest.fixture(scope="session")
def utterances(corpus) -> list[dict]:
    """The 24 demo utterances: id, sentence, wav path."""
    lines = (corpus / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) | {"wav": corpus / "audio" / json.loads(line)["file"]} for line in lines]


def prepared(out: Path, split: str) -> list[dict]:
    """The lines of ``out/<split>.jsonl``, which training's validation must accept whole."""
    manifest = out / f"{split}.jsonl"
    lines = [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines()]
    items, report = read_manifest(manifest)
    assert report.kept == len(lines) and not report.skipped
    assert [item.duration for item in items] == [line["duration"] for line in lines]
    return lines
