"""train.py and evaluate.py end to end on a small corpus, as a user runs them."""

import contextlib
import csv
import json
import math
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import torch
from optuna.trial import TrialState
from safetensors.torch import load_file
from transformers import Wav2Vec2ForCTC, Wav2Vec2Processor

from tests.conftest import ROOT
from tests.waiting import poll
from vasr import ASSETS
from vasr.model.averaging import average_checkpoints
from vasr.model.export import load_checkpoint

pytestmark = pytest.mark.slow
# The tests reading the module's trained run: one pytest-xdist worker (--dist loadgroup) runs them, so it trains once.
TRAINED = pytest.mark.xdist_group("e2e-train-trained")


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without a pinned run folder, W&B quiet."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VASR_")}
    return env | {"WANDB_SILENT": "true"} | extra


def launch(command: list[str], **env: str) -> subprocess.Popen:
    """Start ``command`` in its own process group, so a hang can be ended with every rank it started."""
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=clean_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def finish(process: subprocess.Popen, timeout: float = 600) -> subprocess.CompletedProcess:
    """Wait for ``process``; past ``timeout`` its whole group is killed and the test fails (never hangs)."""
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(f"{process.args} hung for {timeout} s:\n{stdout[-2000:]}{stderr[-3000:]}")
    result = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def run(script: str, *overrides: str, timeout: float = 600, **env: str) -> subprocess.CompletedProcess:
    """``python SCRIPT OVERRIDES...`` as a user runs it, failing instead of hanging past ``timeout``."""
    return finish(launch([sys.executable, str(ROOT / script), *overrides], **env), timeout)


def killed_at(args: list[str], folder: Path, step: int) -> None:
    """Run ``args`` until rank 0 reaches ``step`` (the checkpoint of the step before it written), then SIGKILL
    every process of the job."""
    marker = folder.parent / f"{folder.name}.held"
    hold = [
        "+callbacks.hold._target_=tests.hold.HoldAt",
        f"+callbacks.hold.step={step}",
        f"+callbacks.hold.marker={marker}",
    ]
    with (folder.parent / f"{folder.name}.log").open("w") as log:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "train.py"), *args, *hold],
            cwd=ROOT,
            env=clean_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        poll(marker.exists, f"rank 0 holding at step {step} ({marker})", 600, process)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def corpus_args(corpus: Path) -> list[str]:
    return [
        "data=soict",
        f"data.manifest={corpus / 'manifest.jsonl'}",
        f"data.audio_dir={corpus / 'audio'}",
        "data.val_ratio=0.25",
        "data.test_ratio=0.25",
        "data.loader.num_workers=0",
    ]


@pytest.fixture(scope="module")
def trained(corpus, tmp_path_factory) -> Path:
    runs = tmp_path_factory.mktemp("runs")
    run(
        "train.py",
        "model=micro",
        "logger=csv",
        *corpus_args(corpus),
        f"paths.runs_dir={runs}",
        "run_name=e2e",
        "trainer.max_steps=5",  # validated at steps 2 and 4: two best checkpoints kept, and their average
        "callbacks.best_checkpoint.save_top_k=3",
        "trainer.val_check_interval=2",
        "data.loader.max_seconds=20",
        "test_before_fit=true",
        # A small grid: beam search on an untrained model's near-uniform output is the slow case.
        "decode.tune.alpha=[0.5,1.0]",
        "decode.tune.beta=[1.0]",
    )
    return runs / "train" / "e2e"


@TRAINED
def test_run_folder_holds_every_artefact(trained):
    expected = [
        "checkpoints/last.ckpt",
        "export/config.json",
        "export/model.safetensors",
        "export/vocab.json",
        "nlu/labels.json",
        "nlu/heads.safetensors",
        "slu_scores.json",
        "export/processor_config.json",
        "vocab.json",
        "config.yaml",
        "metrics.csv",
        "curves.png",
        "split/train.jsonl",
        "split/val.jsonl",
        "split/test.jsonl",
        "validation.json",
        "results.json",
        "git_commit.txt",
        "vocab_coverage.json",
        "export/language_model/lm.arpa",
        "export/language_model/attrs.json",
        "export/language_model/unigrams.txt",
        "export/alphabet.json",
        "export/vasr_decoding.json",
        "lm_tuning.csv",
        "confidence_reliability.csv",
        "predictions.jsonl",
    ]
    missing = [name for name in expected if not (trained / name).exists()]
    assert not missing
    assert list((trained / "checkpoints").glob("best-step*.ckpt"))
    results = json.loads((trained / "results.json").read_text())
    assert {"val/wer", "test/wer", "test/cer", "before/test/wer", "test/lm_wer", "lm/alpha"} <= set(results)
    assert (trained / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert {"val/wer", "val/lm_wer"} <= set((trained / "metrics.csv").read_text().splitlines()[0].split(","))
    assert json.loads((trained / "validation.json").read_text())[0]["kept"] == 24


@TRAINED
def test_export_is_the_better_of_the_best_checkpoint_and_the_average_of_the_kept(trained):
    results = json.loads((trained / "results.json").read_text())
    kept = sorted(trained.glob("checkpoints/best-step*.ckpt"))
    assert len(kept) == 2  # both validations' checkpoints kept (save_top_k 3)
    scores = {"best checkpoint": results["export/val_wer_best_checkpoint"]}
    scores["average of 2 best"] = results["export/val_wer_average_of_2_best"]
    assert results["exported"] == min(scores, key=scores.get)  # ties go to the best checkpoint
    if results["exported"] == "best checkpoint":
        expected = load_checkpoint(results["best_checkpoint"])[0]
    else:
        expected = average_checkpoints(kept)[0]
    exported = load_file(trained / "export" / "model.safetensors")
    assert all(torch.equal(exported[k], v) for k, v in expected.state_dict().items() if k in exported)


@TRAINED
def test_export_loads_with_hugging_face(trained):
    model = Wav2Vec2ForCTC.from_pretrained(trained / "export")
    processor = Wav2Vec2Processor.from_pretrained(trained / "export")
    vocab = json.loads((trained / "vocab.json").read_text(encoding="utf-8"))
    assert model.lm_head.out_features == len(vocab) == len(processor.tokenizer)


def evaluate(model_path: Path, corpus: Path, runs: Path, name: str, *extra: str) -> tuple[str, list[dict], dict]:
    """``evaluate.py`` on the run's test split: (its stdout, its predictions.jsonl rows, its metrics.json)."""
    result = run(
        "evaluate.py",
        f"model_path={model_path}",
        *corpus_args(corpus),
        f"paths.runs_dir={runs}",
        *extra,
        f"run_name={name}",
        "batch_size=4",
    )
    folder = runs / "evaluate" / name
    rows = [json.loads(line) for line in (folder / "predictions.jsonl").read_text().splitlines()]
    return result.stdout, rows, json.loads((folder / "metrics.json").read_text())


def check_scored_with_the_runs_lm(trained: Path, stdout: str, rows: list[dict], metrics: dict) -> None:
    """One line per test utterance, scored greedy and with the n-gram LM the run tuned (its export carries it, and a
    checkpoint of the run finds it there)."""
    assert f"WER {metrics['wer']:.4f}" in stdout
    keys = {"id", "reference", "hypothesis", "wer", "lm_hypothesis", "lm_wer", "lm_confidence", "lm_words"}
    assert len(rows) == 6 and set(rows[0]) == keys
    assert (
        all(0 < w["confidence"] <= 1 for w in rows[0]["lm_words"])
        and " ".join(w["word"] for w in rows[0]["lm_words"]) == rows[0]["lm_hypothesis"]
    )
    decoder = json.loads((trained / "export" / "language_model" / "attrs.json").read_text())
    assert metrics["alpha"] == decoder["alpha"]
    assert f"with the n-gram LM WER {metrics['lm_wer']:.4f}" in stdout


@TRAINED
def test_evaluate_a_checkpoint_writes_per_utterance_lines(trained, corpus, tmp_path):
    check_scored_with_the_runs_lm(trained, *evaluate(trained / "checkpoints" / "last.ckpt", corpus, tmp_path, "ev"))


@TRAINED
def test_evaluate_an_export_reports_slu_beside_wer_and_greedy_on_the_cpu_agrees(trained, corpus, tmp_path):
    """The export with the run's NLU model (device=auto); then greedy on the CPU: the same WER, no LM."""
    stdout, rows, metrics = evaluate(trained / "export", corpus, tmp_path, "slu", f"nlu_path={trained / 'nlu'}")
    check_scored_with_the_runs_lm(trained, stdout, rows, metrics)
    for reading, name in (("gold", "gold text"), ("greedy+itn", "greedy ASR + ITN"), ("lm+itn", "ASR + LM + ITN")):
        assert f"SLU from {name}: intent accuracy {metrics[f'slu/{reading}/intent_accuracy']:.1%}" in stdout
    _, _, greedy = evaluate(trained / "export", corpus, tmp_path, "cpu", "device=cpu", "decode=greedy")
    assert greedy["wer"] == metrics["wer"] and "lm_wer" not in greedy


def test_default_fine_tune_keeps_the_feature_encoder_and_reports_before_and_after(corpus, tmp_path):
    result = run(
        "train.py",
        "logger=csv",
        *corpus_args(corpus),
        f"paths.runs_dir={tmp_path}",
        "run_name=ft",
        "decode.tune.alpha=[0.5]",  # the n-gram LM on a one-point grid: the summary's LM lines, not a weight search
        "decode.tune.beta=[1.0]",
        "trainer.max_steps=3",
        "trainer.val_check_interval=2",
        "callbacks.blank_plateau.after_steps=0",  # the shipped model reads text from the start: no plateau to report
        "data.loader.max_seconds=20",
    )
    assert "only blanks" not in result.stdout + result.stderr
    shipped = load_file(ASSETS / "vasr-tiny-vi" / "model.safetensors")
    tuned = load_file(tmp_path / "train" / "ft" / "export" / "model.safetensors")
    encoder = [k for k in shipped if k.startswith("wav2vec2.feature_extractor.")]
    assert encoder and all(torch.equal(shipped[k], tuned[k]) for k in encoder)
    assert any(not torch.equal(shipped[k], tuned[k]) for k in tuned if k.startswith("wav2vec2.encoder."))
    results = json.loads((tmp_path / "train" / "ft" / "results.json").read_text())
    assert {"before/test/wer", "test/wer"} <= set(results)
    before, after = results["before/test/wer"], results["test/wer"]
    assert f"test WER: {before:.2%} before fine-tuning -> {after:.2%}" in result.stdout
    # the corpus has intents and entities: the run trained its NLU model, and its summary ends with the SLU figures
    summary = result.stdout.rstrip().splitlines()
    assert summary[-4] == "test SLU (intent accuracy / entity F1 / SLU-F1):" and summary[-3].startswith("  gold text: ")
    assert summary[-1].startswith("  ASR + LM + ITN: ") and (tmp_path / "train" / "ft" / "nlu" / "labels.json").exists()


def test_a_learning_rate_that_cannot_learn_is_diagnosed_as_a_blank_plateau(corpus, tmp_path):
    result = run(
        "train.py",
        "model=micro",
        "logger=csv",
        "decode=greedy",
        "~nlu",
        *corpus_args(corpus),
        f"paths.runs_dir={tmp_path}",
        "run_name=blank",
        "model.optimizer.lr=3e-2",  # collapses to the all-blank solution within a few steps
        "trainer.max_epochs=100",
        "trainer.max_steps=12",
        "trainer.val_check_interval=2",
        "callbacks.blank_plateau.after_steps=8",
        "data.loader.max_seconds=20",
        "test_after_fit=false",
    )
    output = result.stdout + result.stderr
    assert output.count("the model still outputs only blanks") == 1  # once a run
    warning = output[output.index("the model still outputs only blanks") :]
    causes = [line.strip("- ").strip() for line in warning.splitlines()[1:6]]
    assert causes[0].startswith("learning rate") and "so high that training collapses" in causes[0]
    assert any(c.startswith("0.01 h of training audio: very little") for c in causes)
    assert any("labels per second of audio" in c and "they fit" in c for c in causes)
    rows = list(csv.DictReader((tmp_path / "train" / "blank" / "metrics.csv").open()))
    fired = [int(r["step"]) for r in rows if r.get("diagnosis/blank_plateau")]
    assert len(fired) == 1 and fired[0] >= 8


def test_gpu_trainer_trains_the_reference_model(corpus, base_like_checkpoint, tmp_path):
    """``model=nguyenvulebinh preset=gpu`` as users run it, on the CPU: bf16-mixed, fused AdamW and gradient
    clipping together, which Lightning alone refuses (this command crashed at its first step on an H200)."""
    run(
        "train.py",
        "model=nguyenvulebinh",
        f"model.pretrained={base_like_checkpoint}",
        "preset=gpu",
        "trainer.accelerator=cpu",
        "trainer.precision=bf16-mixed",
        "trainer.max_steps=3",
        "trainer.log_every_n_steps=1",
        "logger=csv",
        "decode=greedy",
        "~nlu",
        "test_after_fit=false",
        *corpus_args(corpus),
        "data.loader.pin_memory=false",
        "data.loader.prefetch_factor=null",
        f"paths.runs_dir={tmp_path}",
        "run_name=gpu",
    )
    folder = tmp_path / "train" / "gpu"
    checkpoint = torch.load(folder / "checkpoints" / "last.ckpt", weights_only=False)
    assert checkpoint["global_step"] == 3
    assert checkpoint["optimizer_states"][0]["param_groups"][0]["fused"] is True
    with open(folder / "metrics.csv") as handle:
        losses = [float(row["train/loss"]) for row in csv.DictReader(handle) if row["train/loss"]]
    assert len(losses) == 3 and all(math.isfinite(loss) for loss in losses)


def test_bad_training_lines_are_reported_together_without_a_traceback(corpus, tmp_path):
    lines = (corpus / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text("\n".join([lines[0], "{oops", *lines[1:5], '{"id": "x"}', *lines[5:]]) + "\n", encoding="utf-8")
    args = [a for a in corpus_args(corpus) if not a.startswith("data.manifest=")]
    process = launch([sys.executable, str(ROOT / "train.py"), "model=micro", *args, f"data.manifest={manifest}"])
    stdout, stderr = process.communicate(timeout=300)
    output = stdout + stderr
    assert process.returncode == 1 and "Traceback" not in output
    assert f"{manifest}: 2 bad lines:" in output and f"{manifest}:2: not JSON" in output
    assert f"{manifest}:7: missing key: sentence, file" in output and "data.skip_bad=true" in output


def test_a_run_without_a_test_split_exports_the_tuned_lm_and_sweeps_on_val_lm_wer(corpus, tmp_path):
    """``data.test_ratio=0`` (the test set kept apart): the export step still ships the n-gram tuned on val, which
    vasr-transcribe then decodes with; an Optuna trial minimising ``val/lm_wer`` gets a finite value."""
    sweep = tmp_path / "sweep"
    args = [a for a in corpus_args(corpus) if not a.startswith("data.test_ratio=")]
    trained = run(
        "train.py",
        "hparams_search=optuna",
        "model=micro",
        "logger=csv",
        "~nlu",
        *args,
        "data.test_ratio=0",
        "optimized_metric=val/lm_wer",
        f"hydra.sweep.dir={sweep}",
        "hydra.sweeper.n_trials=1",
        "trainer.max_steps=4",
        "trainer.val_check_interval=2",
        "data.loader.max_seconds=20",
        "decode.tune.alpha=[0.5,1.0]",
        "decode.tune.beta=[1.0]",
    )
    (trial,) = optuna.load_study(study_name="vasr", storage=f"sqlite:///{sweep / 'optuna.db'}").get_trials()
    assert trial.state == TrialState.COMPLETE and math.isfinite(trial.value)
    (folder,) = [p for p in sweep.iterdir() if p.is_dir()]
    results = json.loads((folder / "results.json").read_text())
    assert trial.value == results["val/lm_wer"] and "test/wer" not in results
    attrs = json.loads((folder / "export" / "language_model" / "attrs.json").read_text())
    assert attrs["alpha"] == results["lm/alpha"] and (folder / "lm_tuning.csv").exists()
    audio = sorted((corpus / "audio").iterdir())[0]
    result = finish(launch([sys.executable, "-m", "vasr.infer.transcribe", str(folder / "export"), str(audio)]))
    said = " ".join(result.stderr.split())  # the console's closing line, wrapped to the terminal's width
    assert f"beam search + lm.arpa (alpha {attrs['alpha']:g}, beta {attrs['beta']:g})" in said
    # the printed follow-up command reads the run's corpus and split, pasted as printed
    (score,) = [line for line in trained.stdout.splitlines() if line.startswith("score it:")]
    command = shlex.split(score.removeprefix("score it:"))
    assert command[:2] == ["vasr-evaluate", f"model_path={folder / 'export'}"]
    assert {*args, "data.test_ratio=0"} <= set(command[2:])


def test_an_optimized_metric_the_run_does_not_report_is_refused_before_training(corpus, tmp_path):
    args = [*corpus_args(corpus), "model=micro", "logger=csv", f"paths.runs_dir={tmp_path}", "run_name=bad"]
    process = launch([sys.executable, str(ROOT / "train.py"), *args, "optimized_metric=val/accuracy"])
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 1 and "Traceback" not in stdout + stderr
    assert "optimized_metric=val/accuracy: this run does not report it; it reports " in stderr + stdout
    assert "val/lm_wer" in stderr + stdout and not (tmp_path / "train" / "bad" / "checkpoints").exists()
