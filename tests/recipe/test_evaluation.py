"""Scoring makes the model's input with its own feature extractor, whichever path scores it."""

import json

import pytest
import torch
from hydra import compose, initialize_config_dir
from transformers import AutoModelForCTC, Wav2Vec2CTCTokenizer, Wav2Vec2FeatureExtractor

from tests.conftest import ROOT
from tests.families import save_tiny_checkpoint
from vasr.data.corpus import load_corpus, load_test_sets
from vasr.decoding.ctc import CTCDecoding
from vasr.infer.posteriors import posteriors
from vasr.model.export import export_folder
from vasr.model.module import CTCModule
from vasr.recipe.evaluation import evaluate, score


def test_a_checkpoint_without_normalisation_scores_alike_through_training_and_vasr_evaluate(corpus, tmp_path):
    checkpoint = save_tiny_checkpoint("wav2vec2", tmp_path / "pretrained")
    extractor = Wav2Vec2FeatureExtractor(do_normalize=False, return_attention_mask=True)
    model = AutoModelForCTC.from_pretrained(checkpoint).eval()
    tokenizer = Wav2Vec2CTCTokenizer.from_pretrained(checkpoint)
    module = CTCModule(model, tokenizer, extractor=extractor)  # a run's module, as training scores with it
    export_folder(model, tokenizer, tmp_path / "export", module.extractor)
    data = [
        "data=soict",
        f"data.manifest={corpus / 'manifest.jsonl'}",
        f"data.audio_dir={corpus / 'audio'}",
        "data.val_ratio=0.25",
        "data.test_ratio=0.25",
    ]
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(
            "evaluate",
            [f"model_path={tmp_path / 'export'}", "decode=greedy", "device=cpu", f"paths.output_dir={tmp_path / 'ev'}"]
            + data,
        )
    test = load_corpus(cfg.data, cfg.seed)[0]["test"]
    trained = score(module.model, CTCDecoding(tokenizer), test, 1, tmp_path / "train.jsonl", "cpu", module.features)
    evaluated = evaluate(cfg)
    assert {k: evaluated[k] for k in ("wer", "cer")} == {k: trained[k] for k in ("wer", "cer")}
    lines = [json.loads(line) for line in (tmp_path / "ev" / "predictions.jsonl").read_text().splitlines()]
    assert lines == [json.loads(line) for line in (tmp_path / "train.jsonl").read_text().splitlines()]
    # the extractor's setting matters: the family's default (normalised) input gives other log-probabilities
    own, _ = posteriors(model, tokenizer, test[:2], device="cpu", features=module.features)
    default, _ = posteriors(model, tokenizer, test[:2], device="cpu")
    assert not torch.allclose(own[0], default[0], atol=1e-4)


def test_vasr_evaluate_scores_each_test_set_into_one_table(corpus, tmp_path, capsys):
    checkpoint = save_tiny_checkpoint("wav2vec2", tmp_path / "pretrained")
    model = AutoModelForCTC.from_pretrained(checkpoint).eval()
    tokenizer = Wav2Vec2CTCTokenizer.from_pretrained(checkpoint)
    module = CTCModule(model, tokenizer)
    export_folder(model, tokenizer, tmp_path / "export", module.extractor)
    lines = (corpus / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    for name, chosen in (("t1", lines[:4]), ("t2", lines[4:10])):
        (tmp_path / f"{name}.jsonl").write_text("\n".join(chosen) + "\n", encoding="utf-8")
    overrides = [
        f"model_path={tmp_path / 'export'}",
        "decode=greedy",
        "device=cpu",
        f"paths.output_dir={tmp_path / 'ev'}",
        "data=soict",
        f"data.manifest={corpus / 'manifest.jsonl'}",
        f"data.audio_dir={corpus / 'audio'}",
        f"data.test_sets={{t1: {tmp_path / 't1.jsonl'}, t2: {tmp_path / 't2.jsonl'}}}",
    ]
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("evaluate", overrides)
    evaluated = evaluate(cfg)
    table = json.loads((tmp_path / "ev" / "metrics.json").read_text())["test_sets"]
    assert list(table) == ["t1", "t2"] and [table[n]["n_utterances"] for n in table] == [4, 6]
    sets = load_test_sets(cfg.data)
    for name, items in sets.items():
        alone = score(model, CTCDecoding(tokenizer), items, 1, device="cpu", features=module.features)
        assert (table[name]["wer"], table[name]["cer"]) == (alone["wer"], alone["cer"])
        assert table[name]["hours"] == pytest.approx(sum(item.duration for item in items) / 3600)
    both = score(model, CTCDecoding(tokenizer), [*sets["t1"], *sets["t2"]], 1, device="cpu", features=module.features)
    assert evaluated["wer"] == both["wer"]
    printed = capsys.readouterr().out
    assert "on 10 utterances (test sets t1, t2)" in printed
    table_lines = printed[printed.index("test set ") :].splitlines()
    assert [line.split()[:2] for line in table_lines[1:3]] == [["t1", "4"], ["t2", "6"]]
