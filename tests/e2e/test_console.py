"""What a user sees: a sweep of two short runs, transcription and the ONNX export print their own lines once and
none of the libraries' noise."""

import re
import sys
from collections import Counter

import pytest

from tests.e2e.test_experiments import QUICK
from tests.e2e.test_train import corpus_args, finish, launch, run

pytestmark = pytest.mark.slow
NOISE = [
    "litlogger",  # Lightning's advertisement
    "LeafSpec",  # a deprecation inside Lightning's pytree helper
    "anonymous setting has no effect",  # W&B, for the setting Lightning always passes
    "Loading weights",  # transformers' progress bars
    "Writing model shards",
    "build a binary file",  # KenLM, on every ARPA load
    "*****",
    "setup plugin alembic",  # Optuna's storage under Hydra's logging
    "torchvision is not installed",  # torch's ONNX exporter
    "could not find the monitored key",  # ModelCheckpoint in a run shorter than one validation
    "No artists with labels",  # matplotlib
]


def noise_in(output: str) -> list[str]:
    return [line for line in output.splitlines() if any(marker in line for marker in NOISE)]


def test_a_sweep_transcription_and_export_print_no_library_noise(corpus, tmp_path):
    sweep = tmp_path / "sweep"
    result = run(
        "train.py",
        "-m",
        *[q for q in QUICK if q not in ("logger=csv", "decode=greedy", "~nlu")],  # W&B (offline), as a user runs it
        "decode.tune.alpha=[0.5]",  # the n-gram LM (KenLM loads it), tuned on a one-point grid; the NLU step too
        "decode.tune.beta=[1.0]",
        *corpus_args(corpus),
        f"hydra.sweep.dir={sweep}",
        "trainer.max_steps=1",  # shorter than one validation
        "model.optimizer.lr=1e-3,3e-3",
    )
    output = result.stdout + result.stderr
    assert not noise_in(output), noise_in(output)
    lines = Counter(re.sub(r"^\[[^]]*\]", "", line) for line in output.splitlines() if line.startswith("[20"))
    available = "[lightning.pytorch.utilities.rank_zero][INFO] - GPU available: "  # True or False: any machine
    assert sum(count for line, count in lines.items() if line.startswith(available)) == 2 * 2  # 2 fits, once each
    assert output.count("no validation ran (the run is shorter") == 2  # explained once a job
    assert output.count("(the last checkpoint: no validation ran)") == 2  # and the summary names what was exported
    export = next(sweep.glob("0-*/export"))
    wav = next((corpus / "audio").glob("*.wav"))
    transcribed = finish(launch([sys.executable, "-m", "vasr.infer.transcribe", str(export), str(wav)]))
    assert not noise_in(transcribed.stdout + transcribed.stderr)
    assert "transcribing 1 file" in transcribed.stderr and "1 files" not in transcribed.stderr
    exported = finish(launch([sys.executable, "-m", "vasr.model.onnx", str(export), str(tmp_path / "onnx")]))
    assert not noise_in(exported.stdout + exported.stderr), noise_in(exported.stdout + exported.stderr)
