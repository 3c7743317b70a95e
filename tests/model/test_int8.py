"""The int8 gate: onnxruntime's dynamic quantisation scored against fp32, refused when it breaks the WER."""

import json
import shutil

import pytest

from vasr import ASSETS
from vasr.model.int8 import GATE_FILE, INT8_FILE, OVER_LOSS_FILE, run_of, run_validation
from vasr.model.onnx import export_onnx, gate_manifest, main, parser_of, quantize_gated
from vasr.recipe.run_folder import RunFolder

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The shipped vasr-tiny-vi as ONNX, exported once; each test quantises a copy."""
    return export_onnx(ASSETS / "vasr-tiny-vi", tmp_path_factory.mktemp("onnx")).parent


def gated(exported, tmp_path, corpus, *options):
    """The gate run on a copy of the export, scored on the demo corpus: its exit status and report."""
    folder = shutil.copytree(exported, tmp_path / "export")
    manifest = ["--manifest", str(corpus / "manifest.jsonl"), "--audio-dir", str(corpus / "audio")]
    model = str(ASSETS / "vasr-tiny-vi")
    args = parser_of().parse_args([model, str(folder), "--quantize", "int8", *manifest, *options])
    status = quantize_gated(args, folder, gate_manifest(args))
    return status, folder, json.loads((folder / GATE_FILE).read_text(encoding="utf-8"))


def test_the_gate_refuses_a_quantisation_that_breaks_the_wer(exported, tmp_path, corpus):
    """8-bit unsigned convolution weights cost the tiny model's feature encoder several WER points: refused, and no
    int8 file is left."""
    broken = ("--quantize-ops", "MatMul,Conv", "--weight-type", "uint8")
    status, folder, report = gated(exported, tmp_path, corpus, *broken)
    assert status == 2
    assert report["wer_loss_points"] > 0.5 and not report["passed"] and report["kept"] is None
    assert report["int8_wer"] > report["fp32_wer"]
    assert not (folder / INT8_FILE).exists() and not (folder / OVER_LOSS_FILE).exists()


def test_allowed_wer_loss_keeps_the_int8_file_under_a_name_that_says_so(exported, tmp_path, corpus):
    status, folder, report = gated(
        exported, tmp_path, corpus, "--quantize-ops", "MatMul,Conv", "--weight-type", "uint8", "--allow-wer-loss"
    )
    assert status == 0 and not report["passed"] and report["kept"] == OVER_LOSS_FILE
    assert (folder / OVER_LOSS_FILE).is_file() and not (folder / INT8_FILE).exists()


def test_the_gate_keeps_a_quantisation_within_the_allowed_loss(exported, tmp_path, corpus):
    """The default (MatMul weights in int8) keeps the WER within 0.5 points, and the report has the ratios."""
    status, folder, report = gated(exported, tmp_path, corpus)
    assert status == 0 and report["passed"] and report["kept"] == INT8_FILE
    assert report["wer_loss_points"] <= 0.5 and report["utterances"] == 24
    assert report["speed_ratio"] > 0 and 0.2 < report["size_ratio"] < 0.5  # weights of the MatMuls in a byte
    assert (folder / INT8_FILE).is_file()


def test_a_threshold_below_the_measured_loss_refuses_the_same_quantisation(exported, tmp_path, corpus):
    status, folder, report = gated(exported, tmp_path, corpus, "--max-wer-loss", "-1")
    assert status == 2 and report["max_wer_loss"] == -1 and not (folder / INT8_FILE).exists()


def test_no_gate_quantises_and_says_it_was_not_scored(exported, tmp_path, capsys):
    folder = shutil.copytree(exported, tmp_path / "export")
    args = parser_of().parse_args([str(folder), str(folder), "--quantize", "int8", "--no-gate"])
    assert quantize_gated(args, folder, None) == 0
    assert "not scored" in capsys.readouterr().out
    assert json.loads((folder / GATE_FILE).read_text(encoding="utf-8"))["checked"] is False


def test_without_a_manifest_nor_a_run_the_gate_asks_for_one_before_exporting(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([str(ASSETS / "vasr-tiny-vi"), str(tmp_path / "out"), "--quantize", "int8"])
    assert exit_.value.code == 2
    assert "--manifest" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_unknown_quantisation_ops_are_refused_naming_the_known_ones(capsys):
    with pytest.raises(SystemExit):
        parser_of().parse_args(["m", "o", "--quantize", "int8", "--quantize-ops", "MatMul,Softmax"])
    assert "Softmax" in capsys.readouterr().err


def test_a_runs_export_and_checkpoints_find_its_validation_split_as_run_folder_names_them(tmp_path):
    run = RunFolder(tmp_path / "run")
    run.split.mkdir(parents=True)
    (run.split / "val.jsonl").write_text("", encoding="utf-8")
    run.write_text("config.yaml", "data:\n  numbers: verbalize\n")
    run.export.mkdir()
    checkpoint = run.checkpoints / "best-step10.ckpt"
    assert run_of(run.export) == run.root and run_of(checkpoint) == run.root
    assert run_validation(run.export) == (run.split / "val.jsonl", "verbalize")
    assert run_validation(tmp_path) is None
