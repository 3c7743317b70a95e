"""training: the metrics a run reports (what a sweep may minimise) and the summary's commands, pasted as printed."""

import math
import shlex

import pytest
from omegaconf import OmegaConf

from vasr.data.index import Item, UtteranceIndex
from vasr.decoding.config import DecodeConfig
from vasr.recipe.run_folder import RunFolder
from vasr.recipe.training import (
    UnknownMetric,
    check_optimized_metric,
    data_overrides,
    objective,
    reported_metrics,
    summary,
    table_groups,
)

SPLITS = {"train": ["a"], "val": ["b"], "test": []}


def config(**changes) -> OmegaConf:
    cfg = {"test_after_fit": True, "test_before_fit": None, "model": {"pretrained": None}, "nlu": None, "data": {}}
    return OmegaConf.create(cfg | changes)


def test_a_run_without_a_test_split_reports_val_and_lm_metrics_but_no_test_ones():
    names = reported_metrics(config(), DecodeConfig(lm="train", tune={"alpha": [0.5]}), SPLITS)
    assert {"val/wer", "val/lm_wer", "lm/val_wer", "lm/alpha"} <= set(names)
    assert not [n for n in names if n.startswith("test/") or n.startswith("before/")]
    greedy = reported_metrics(config(), DecodeConfig(), SPLITS | {"test": ["c"]})
    assert "test/wer" in greedy and not [n for n in greedy if "lm" in n]


def test_an_unknown_metric_is_refused_with_the_list_it_could_be():
    names = reported_metrics(config(), DecodeConfig(lm="train"), SPLITS)
    check_optimized_metric("val/lm_wer", names)
    with pytest.raises(UnknownMetric, match=r"optimized_metric=test/wer: .* it reports fit_seconds, steps, val/loss"):
        check_optimized_metric("test/wer", names)


def test_the_objective_is_the_named_result_and_never_a_silent_nan():
    assert objective({"val/lm_wer": 0.25, "steps": 4.0}, "val/lm_wer") == 0.25
    assert math.isnan(objective({"val/wer": 0.5, "pruned_at_step": 2.0}, "val/lm_wer"))  # the sweeper marks it pruned
    with pytest.raises(KeyError, match=r"slu/gold/slu_f1 is not among this run's results \(val/wer, steps\)"):
        objective({"val/wer": 0.5, "steps": 4.0, "exported": "best checkpoint"}, "slu/gold/slu_f1")


def test_the_printed_commands_carry_the_data_overrides_and_paste_as_they_are(tmp_path):
    run = RunFolder(tmp_path / "my runs" / "r1")
    overrides = ["data=soict", "data.manifest=/data/train set.jsonl", "seed=3"]
    results = {"exported": "best checkpoint", "best_checkpoint": "x.ckpt", "slu/gold/intent_accuracy": 1.0}
    results |= {"slu/gold/entity_f1": 1.0, "slu/gold/slu_f1": 1.0}
    lines = summary(results, run, overrides).splitlines()
    score = next(line for line in lines if line.startswith("score it:"))
    assert shlex.split(score.removeprefix("score it:")) == ["vasr-evaluate", f"model_path={run.export}", *overrides]
    transcribe = next(line for line in lines if line.startswith("transcribe:"))
    assert shlex.split(transcribe.removeprefix("transcribe:"))[:2] == ["vasr-transcribe", str(run.export)]
    understand = next(line for line in lines if line.startswith("understand:"))
    assert shlex.split(understand.removeprefix("understand:"))[1:3] == [str(run.export), str(run.nlu)]
    assert f"exported model: {run.export} (best checkpoint, by val WER)" in lines


def test_a_run_that_never_validated_says_its_export_is_the_last_checkpoint(tmp_path):
    run = RunFolder(tmp_path)
    text = summary({"exported": "last checkpoint", "best_checkpoint": "last.ckpt"}, run, [])
    assert f"exported model: {run.export} (the last checkpoint: no validation ran)" in text
    assert "by val WER" not in text and "best checkpoint" not in text


def test_without_a_hydra_command_line_the_commands_name_the_resolved_corpus():
    cfg = OmegaConf.create({"data": {"manifest": "/d/m.jsonl", "audio_dir": "/d/audio"}})
    assert data_overrides(cfg) == ["data.manifest=/d/m.jsonl", "data.audio_dir=/d/audio"]


def test_a_run_on_several_corpora_reports_each_corpus_validation_and_prints_a_row_per_test_set(tmp_path):
    data = {"corpora": {"vivos": "/d/vivos.jsonl", "cv": {"manifest": "/d/cv.jsonl", "weight": 2}}}
    names = reported_metrics(config(data=data), DecodeConfig(lm="train"), SPLITS)
    assert {"val/vivos/wer", "val/vivos/cer", "val/cv/wer", "val/cv/lm_wer", "val/wer"} <= set(names)
    assert not [n for n in reported_metrics(config(data={}), DecodeConfig(), SPLITS) if n.count("/") > 1]
    with_nlu = reported_metrics(config(data=data, nlu={"lr": 1e-3}), DecodeConfig(), SPLITS | {"test": ["c"]})
    assert "test/wer" in with_nlu and not [n for n in with_nlu if n.startswith("slu/")]  # NLU is one corpus's
    table = {
        "vivos": {"wer": 0.3125, "cer": 0.1, "lm_wer": 0.25, "lm_cer": 0.08, "n_utterances": 760, "hours": 0.75},
        "common_voice_vi": {
            "wer": 0.5,
            "cer": 0.2,
            "lm_wer": 0.375,
            "lm_cer": 0.15,
            "n_utterances": 1200,
            "hours": 1.5,
        },
    }
    results = {"exported": "best checkpoint", "test/wer": 0.4, "test_sets": table}
    lines = summary(results, RunFolder(tmp_path), []).splitlines()
    start = lines.index("results per test set:")
    header, *rows = (line.split() for line in lines[start + 1 : start + 4])
    assert header == ["test", "set", "utts", "hours", "WER", "CER", "LM", "WER", "LM", "CER"]
    assert rows == [
        ["vivos", "760", "0.750", "31.25%", "10.00%", "25.00%", "8.00%"],
        ["common_voice_vi", "1200", "1.500", "50.00%", "20.00%", "37.50%", "15.00%"],
    ]
    assert "test_sets" not in lines[-3]  # the line of every figure holds numbers only


def test_each_test_utterance_counts_in_its_corpus_row_or_the_one_corpus_row_beside_more_test_sets():
    test = UtteranceIndex.of([Item("vivos/a", "x", "a.wav", 1.0, 1), Item("cv/b/c", "y", "b.wav", 1.0, 2)])
    assert table_groups("corpora", test, several=True, more_sets=False) == {"vivos/a": "vivos", "cv/b/c": "cv"}
    assert table_groups("soict", test, several=False, more_sets=True) == {"vivos/a": "soict", "cv/b/c": "soict"}
    assert table_groups("soict", test, several=False, more_sets=False) is None  # one corpus: as before, no table
