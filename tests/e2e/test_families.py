"""Each CTC encoder family through train.py (``model=auto model.pretrained=DIR``) to an export that transformers
loads as the same class and its ASR pipeline runs."""

import json
import math

import numpy as np
import pytest
from transformers import AutoModelForCTC, pipeline

from tests.e2e.test_train import corpus_args, run
from tests.families import TINY, save_tiny_checkpoint
from vasr.recipe.plots import read_metrics

pytestmark = pytest.mark.slow
FAMILIES = [family for family in TINY if family != "wav2vec2"]  # plain wav2vec2: tests/e2e/test_train.py


@pytest.mark.parametrize("family", FAMILIES)
def test_family_trains_and_exports_a_folder_transformers_pipeline_reads(family, corpus, tmp_path):
    checkpoint = save_tiny_checkpoint(family, tmp_path / "pretrained")
    run(
        "train.py",
        "model=auto",
        f"model.pretrained={checkpoint}",
        "logger=csv",
        "~nlu",
        "decode=greedy",
        *corpus_args(corpus),
        f"paths.runs_dir={tmp_path}",
        "run_name=family",
        "trainer.max_steps=4",
        "trainer.log_every_n_steps=1",
        "data.loader.max_seconds=20",
        "test_before_fit=false",
    )
    folder = tmp_path / "train" / "family"
    results = json.loads((folder / "results.json").read_text())
    assert results["steps"] == 4 and results["skipped_batches"] == 0  # no batch lost to a NaN loss
    losses = [value for _, value in read_metrics(folder / "metrics.csv")["train/loss"]]
    assert losses and all(math.isfinite(loss) for loss in losses)
    exported = AutoModelForCTC.from_pretrained(folder / "export")
    assert type(exported) is type(AutoModelForCTC.from_pretrained(checkpoint))
    recogniser = pipeline("automatic-speech-recognition", model=str(folder / "export"))
    assert isinstance(recogniser(np.zeros(16000, np.float32))["text"], str)
