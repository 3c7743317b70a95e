"""What users run on a GPU, run on one: training with the default and ``preset=gpu`` settings, then
transcription. Skipped where there is no CUDA GPU (CI); run them where there is one with
``python -m pytest -q tests/test_gpu.py``."""

import json

import jiwer
import numpy as np
import pytest
import soundfile as sf
import torch

from tests.e2e.test_train import corpus_args, run
from tests.infer.test_posteriors import on_devices
from vasr import ASSETS
from vasr.audio import SAMPLE_RATE, load_audio
from vasr.data.manifest import read_manifest
from vasr.decoding.config import DecodeConfig
from vasr.decoding.ctc import CTCDecoding
from vasr.infer.transcribe import main as transcribe
from vasr.infer.transcriber import Transcriber
from vasr.model.export import load_for_inference
from vasr.recipe.evaluation import choose_export, score, tune_lm
from vasr.recipe.run_folder import RunFolder

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]
MODEL = str(ASSETS / "vasr-tiny-vi")


@pytest.mark.parametrize("settings", ["trainer=default", "preset=gpu"])
def test_reference_model_trains_and_tests_on_the_gpu(corpus, base_like_checkpoint, tmp_path, settings):
    """``model=nguyenvulebinh`` with the default trainer (GPU picked, bf16-mixed, gradient checkpointing)
    and with ``preset=gpu`` (fused AdamW with clipping, loader workers): fit, n-gram tuning, test."""
    result = run(
        "train.py",
        "model=nguyenvulebinh",
        f"model.pretrained={base_like_checkpoint}",
        settings,
        "trainer.max_steps=4",
        "logger=csv",
        *corpus_args(corpus),
        "data.loader.num_workers=2",
        "decode.tune.alpha=[0.5]",
        "decode.tune.beta=[1.0]",
        f"paths.runs_dir={tmp_path}",
        "run_name=gpu",
        timeout=300,
    )
    assert "Using bfloat16 Automatic Mixed Precision" in result.stdout + result.stderr
    results = json.loads((tmp_path / "train" / "gpu" / "results.json").read_text())
    assert {"test/wer", "test/lm_wer", "before/test/wer"} <= set(results)  # tuned, tested greedy and with the LM


def test_transcription_on_the_gpu_matches_the_cpu(corpus, tmp_path):
    """Batched chunks of a long file and short files on the GPU give the CPU's transcripts."""
    items, _ = read_manifest(corpus / "manifest.jsonl", corpus / "audio", numbers="verbalize")
    pause = np.zeros(int(0.4 * SAMPLE_RATE), np.float32)
    long = tmp_path / "long.wav"
    sf.write(long, np.concatenate([x for i in items for x in (load_audio(i.path), pause)]), SAMPLE_RATE)
    files = [str(long), *(str(i.path) for i in items)]
    texts = {}
    for device in ("cpu", "cuda"):
        out = tmp_path / f"{device}.jsonl"
        assert transcribe([MODEL, *files, "--device", device, "--greedy", "--out", str(out)]) == 0
        texts[device] = [json.loads(line)["text"] for line in out.read_text().splitlines()]
    assert len(texts["cuda"]) == len(files)
    assert jiwer.wer(texts["cpu"], texts["cuda"]) <= 0.01


def test_every_scoring_pass_runs_on_the_gpu(corpus, tmp_path):
    """Test scoring, LM weight search, the export choice and transcription: the model and each batch on CUDA."""
    items, _ = read_manifest(corpus / "manifest.jsonl", corpus / "audio", numbers="verbalize")
    model, tokenizer = load_for_inference(MODEL)
    seen = on_devices(model)
    decoding = CTCDecoding.from_config(
        DecodeConfig(lm="train", tune={"alpha": [0.5, 1.0]}), tokenizer, [i.text for i in items]
    )
    tune_lm(model, decoding, DecodeConfig(lm="train", tune={"alpha": [0.5, 1.0]}), items[:4], 2, RunFolder(tmp_path))
    score(model, decoding, items[:4], 2)
    choose_export({"one": model}, decoding, items[:4], 2, "auto")
    Transcriber(model, decoding)(items[0].path)
    assert len(seen) >= 4 and set(seen) == {("cuda", "cuda")}
