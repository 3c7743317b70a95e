import shutil
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from vasr.data import corpus as corpus_module
from vasr.data.corpus import forget_shared, load_corpus
from vasr.data.manifest import ManifestError


def data_config(folder):
    config = OmegaConf.load(Path(__file__).parents[2] / "conf" / "data" / "demo.yaml")
    return OmegaConf.merge(config, {"manifest": str(folder / "manifest.jsonl"), "audio_dir": str(folder / "audio"),
                                    "synthesize": None, "verify_durations": "all"})  # fmt: skip


def test_other_ranks_load_what_rank_0_validated_without_reading_the_corpus(corpus, tmp_path, monkeypatch):
    """Rank 0 validates and leaves the result in the run folder; another rank holds the very same splits and
    reports though it can no longer read the audio (it reads no header, parses no manifest)."""
    shutil.copytree(corpus, tmp_path / "corpus")
    data = data_config(tmp_path / "corpus")
    splits, reports = load_corpus(data, seed=3, writer=True, share=tmp_path / "run")
    shutil.rmtree(tmp_path / "corpus" / "audio")
    monkeypatch.setattr(corpus_module, "validate_corpus", lambda *args: (_ for _ in ()).throw(AssertionError))
    theirs, their_reports = load_corpus(data, seed=3, writer=False, share=tmp_path / "run")
    assert list(theirs) == list(splits) == ["train", "val", "test"]
    assert all(list(theirs[name]) == list(splits[name]) for name in splits)
    assert [r.to_dict() for r in their_reports] == [r.to_dict() for r in reports]
    forget_shared(tmp_path / "run")
    assert not list((tmp_path / "run").glob("corpus-*"))


def test_a_changed_manifest_or_seed_is_another_corpus(corpus, tmp_path):
    shutil.copytree(corpus, tmp_path / "corpus")
    data = data_config(tmp_path / "corpus")
    key = corpus_module.corpus_key(data, 0)
    assert corpus_module.corpus_key(data, 1) != key
    manifest = tmp_path / "corpus" / "manifest.jsonl"
    manifest.write_text(manifest.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert corpus_module.corpus_key(data, 0) != key


def test_other_ranks_stop_with_rank_0_when_the_corpus_is_refused(corpus, tmp_path):
    """A manifest rank 0 refuses (a bad line) stops the other ranks at once, naming why, instead of an hour's wait."""
    shutil.copytree(corpus, tmp_path / "corpus")
    manifest = tmp_path / "corpus" / "manifest.jsonl"
    manifest.write_text(manifest.read_text(encoding="utf-8") + "{not json\n", encoding="utf-8")
    data = data_config(tmp_path / "corpus")
    with pytest.raises(ManifestError, match="not JSON"):
        load_corpus(data, seed=0, writer=True, share=tmp_path / "run")
    refused = "(?s)rank 0 could not validate the corpus: ManifestError: .*manifest.jsonl:25: not JSON"
    with pytest.raises(RuntimeError, match=refused):
        load_corpus(data, seed=0, writer=False, share=tmp_path / "run")
