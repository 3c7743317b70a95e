"""What users run on a GPU, run on one: training with the default and ``trainer=gpu`` settings, then
transcription. Skipped where there is no CUDA GPU (CI); run them where there is one with
``python -m pytest -q tests/test_gpu.py``."""

import json

import jiwer
import numpy as np
import pytest
import soundfile as sf
import torch

from tests.e2e.test_train import corpus_args, run
from vasr import ASSETS
from vasr.data.audio import SAMPLE_RATE, load_audio
from vasr.data.manifest import read_manifest
from vasr.infer.transcribe import main as transcribe

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]
MODEL = str(ASSETS / "vasr-tiny-vi")


@pytest.mark.parametrize("trainer", ["default", "gpu"])
def test_reference_model_trains_and_tests_on_the_gpu(corpus, base_like_checkpoint, tmp_path, trainer):
    """``model=nguyenvulebinh`` with the default trainer (GPU picked, bf16-mixed, gradient checkpointing)
    and with ``trainer=gpu`` (fused AdamW with clipping, loader workers): fit, n-gram tuning, test."""
    result = run(
        "train.py",
        "model=nguyenvulebinh",
        f"model.pretrained={base_like_checkpoint}",
        f"trainer={trainer}",
        "trainer.max_steps=4",
        "logger=csv",
        *corpus_args(corpus),
        "data.loader.num_workers=2",
        "decode.grid.alpha=[0.5]",
        "decode.grid.beta=[1.0]",
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
