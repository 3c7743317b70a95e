import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from tests.conftest import ROOT
from vasr.data import corpus as corpus_module
from vasr.data.corpus import corpus_weights, forget_shared, load_corpus, load_test_sets
from vasr.data.datamodule import SpeechDataModule
from vasr.data.manifest import ManifestError
from vasr.data.mix import CorpusMix, corpus_of
from vasr.text.vocab import build_vocab, make_tokenizer, save_vocab


def data_config(overrides: list[str]):
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose("train", ["data=corpora", *overrides]).data


def per_corpus(items) -> dict[str, int]:
    """How many of ``items`` each corpus holds, by their ids."""
    return dict(Counter(corpus_of(uid) for uid in items.column("id")))


def two_corpora(corpus, folder, small: str = "test_manifest: {test}") -> list[str]:
    """The demo corpus split by ratio, and a second one of 5 of its lines (``small``'s settings, where ``{test}``
    is a manifest of 3 more lines)."""
    lines = (corpus / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    (folder / "small.jsonl").write_text("\n".join(lines[:5]) + "\n", encoding="utf-8")
    (folder / "small_test.jsonl").write_text("\n".join(lines[5:8]) + "\n", encoding="utf-8")
    demo = f"{{manifest: {corpus / 'manifest.jsonl'}, val_ratio: 0.25, weight: 0.5}}"
    small = f"{{manifest: {folder / 'small.jsonl'}, {small.format(test=folder / 'small_test.jsonl')}, weight: 3}}"
    return [
        f"data.corpora={{demo: {demo}, small: {small}}}",
        f"data.audio_dir={corpus / 'audio'}",
        "data.test_ratio=0.5",
    ]


def test_each_corpus_is_split_on_its_own_and_the_splits_joined(corpus, tmp_path):
    data = data_config(two_corpora(corpus, tmp_path, small="test_ratio: 0.4"))
    splits, reports = load_corpus(data, seed=0)
    assert {split: per_corpus(items) for split, items in splits.items()} == {
        "train": {"demo": 6, "small": 3},  # demo: 24 at its val 0.25 and the shared test 0.5; small: 5 at test 0.4
        "val": {"demo": 6},
        "test": {"demo": 12, "small": 2},
    }
    first = json.loads((corpus / "manifest.jsonl").read_text(encoding="utf-8").splitlines()[0])["id"]
    every = [item.id for items in splits.values() for item in items]
    assert f"small/{first}" in every and f"demo/{first}" in every  # one utterance in both corpora, two ids
    assert len(reports) == 2 and corpus_weights(data) == {"demo": 0.5, "small": 3.0}


def test_a_corpus_with_its_own_test_manifest_tests_on_it(corpus, tmp_path):
    data = data_config(two_corpora(corpus, tmp_path))
    splits, _ = load_corpus(data, seed=0)
    assert per_corpus(splits["test"])["small"] == 3 and per_corpus(splits["train"])["small"] == 5


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("data.corpora={a/b: x.jsonl}", "corpus name 'a/b' must be non-empty and without '/'"),
        ("data.corpora={a: {audio_dir: x}}", "data.corpora.a: give its manifest or its shards"),
        ("data.corpora={a: {manifest: x.jsonl, shards: s}}", "data.corpora.a: give its manifest or its shards"),
        ("data.corpora={a: {shards: s}, b: x.jsonl}", "a from shards, b from files: a mix trains from shards or"),
        (["data.corpora={a: x.jsonl}", "data.shards=s"], "give each corpus its own .data.corpora.NAME.shards."),
        ("data.corpora={a: {manifest: x.jsonl, weigth: 2}}", "unknown: weigth"),
        ("data.corpora=[a.jsonl,b.jsonl]", "data.corpora must map names to manifests"),
    ],
)
def test_a_corpus_given_wrong_is_named(given, message):
    with pytest.raises(ValueError, match=message):
        load_corpus(data_config([given] if isinstance(given, str) else given), seed=0)


def test_test_sets_are_read_whole_with_their_names(corpus, tmp_path):
    lines = (corpus / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    (tmp_path / "t1.jsonl").write_text("\n".join(lines[:4]) + "\n", encoding="utf-8")
    data = data_config(
        [f"data.test_sets={{t1: {tmp_path / 't1.jsonl'}, t2: {corpus / 'manifest.jsonl'}}}", "data.max_duration=0.5"]
    )
    with pytest.raises(ManifestError, match="audio file missing"):  # data.audio_dir null: the manifests' folder
        load_test_sets(data)
    data.audio_dir = str(corpus / "audio")
    sets = load_test_sets(data)
    assert {name: len(items) for name, items in sets.items()} == {"t1": 4, "t2": 24}  # max_duration spares test sets
    assert sets["t1"][0].id == f"t1/{json.loads(lines[0])['id']}"
    data.test_sets = {"t1": {"manifest": str(tmp_path / "t1.jsonl"), "audio_dir": str(tmp_path)}}  # its own folder
    with pytest.raises(ManifestError, match="audio file missing"):
        load_test_sets(data)
    data.corpora = {"t1": str(tmp_path / "t1.jsonl")}
    with pytest.raises(ValueError, match="data.test_sets.t1: a corpus of data.corpora is named so"):
        load_test_sets(data)


def test_a_mixed_datamodule_trains_on_the_draw_and_validates_every_corpus(corpus, tmp_path):
    data = data_config(two_corpora(corpus, tmp_path))
    splits, _ = load_corpus(data, seed=0)
    tokenizer = make_tokenizer(save_vocab(build_vocab("corpus", splits["train"].column("text")), tmp_path))
    mix = CorpusMix.of(splits["train"], corpus_weights(data))
    module = SpeechDataModule(splits, tokenizer, batch_size=2, eval_batch_size=4, seed=3, mix=mix)
    trained = [uid for batch in module.train_dataloader() for uid in batch["ids"]]
    draw = mix.draw(3, 0)
    assert sorted(trained) == sorted(splits["train"][int(i)].id for i in draw)
    assert sum(uid.startswith("small/") for uid in trained) == 3 * 5  # weight 3: every utterance three times
    validated = sorted(uid for batch in module.val_dataloader() for uid in batch["ids"])
    assert validated == sorted(item.id for item in splits["val"])
    assert {uid.split("/")[0] for uid in validated} == {"demo"} and module.state_dict()["train_sampler"]["mix"] == (
        mix.settings
    )


def demo_config(folder):
    config = OmegaConf.load(Path(__file__).parents[2] / "conf" / "data" / "demo.yaml")
    return OmegaConf.merge(config, {"manifest": str(folder / "manifest.jsonl"), "audio_dir": str(folder / "audio"),
                                    "synthesize": None, "verify_durations": "all"})  # fmt: skip


def test_other_ranks_load_what_rank_0_validated_without_reading_the_corpus(corpus, tmp_path, monkeypatch):
    """Rank 0 validates and leaves the result in the run folder; another rank holds the very same splits and
    reports though it can no longer read the audio (it reads no header, parses no manifest)."""
    shutil.copytree(corpus, tmp_path / "corpus")
    data = demo_config(tmp_path / "corpus")
    splits, reports = load_corpus(data, seed=3, writer=True, share=tmp_path / "run")
    shutil.rmtree(tmp_path / "corpus" / "audio")
    monkeypatch.setattr(corpus_module, "validate_corpus", lambda *args: (_ for _ in ()).throw(AssertionError))
    theirs, their_reports = load_corpus(data, seed=3, writer=False, share=tmp_path / "run")
    assert list(theirs) == list(splits) == ["train", "val", "test"]
    assert all(list(theirs[name]) == list(splits[name]) for name in splits)
    assert [r.to_dict() for r in their_reports] == [r.to_dict() for r in reports]
    forget_shared(tmp_path / "run")
    assert not list((tmp_path / "run").glob("corpus-*"))


def test_a_changed_manifest_seed_or_layout_is_another_corpus(corpus, tmp_path, monkeypatch):
    shutil.copytree(corpus, tmp_path / "corpus")
    data = demo_config(tmp_path / "corpus")
    key = corpus_module.corpus_key(data, 0)
    assert corpus_module.corpus_key(data, 1) != key
    with monkeypatch.context() as patched:  # a file an older vasr left is never read as this one's
        patched.setattr(corpus_module, "ARRAYS_LAYOUT", corpus_module.ARRAYS_LAYOUT - 1)
        assert corpus_module.corpus_key(data, 0) != key
    manifest = tmp_path / "corpus" / "manifest.jsonl"
    manifest.write_text(manifest.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert corpus_module.corpus_key(data, 0) != key


def test_other_ranks_stop_with_rank_0_when_the_corpus_is_refused(corpus, tmp_path):
    """A manifest rank 0 refuses (a bad line) stops the other ranks at once, naming why, instead of an hour's wait."""
    shutil.copytree(corpus, tmp_path / "corpus")
    manifest = tmp_path / "corpus" / "manifest.jsonl"
    manifest.write_text(manifest.read_text(encoding="utf-8") + "{not json\n", encoding="utf-8")
    data = demo_config(tmp_path / "corpus")
    with pytest.raises(ManifestError, match="not JSON"):
        load_corpus(data, seed=0, writer=True, share=tmp_path / "run")
    refused = "(?s)rank 0 could not validate the corpus: ManifestError: .*manifest.jsonl:25: not JSON"
    with pytest.raises(RuntimeError, match=refused):
        load_corpus(data, seed=0, writer=False, share=tmp_path / "run")
