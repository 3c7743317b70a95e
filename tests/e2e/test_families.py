"""Each CTC encoder family through every command: train.py (``model=auto model.pretrained=DIR``, with the n-gram
LM) to an export that transformers loads as the same class and its ASR pipeline runs, that vasr-transcribe reads
with word times in the family's frames, vasr-evaluate scores with the exported LM, and vasr-export-onnx turns into
an ONNX graph giving PyTorch's logits. One training run per family (a train.py process), shared by its tests; the
other commands run in this process, through their own entry points (tests/e2e/test_train.py and test_console.py run
each as its own process)."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from hydra import compose, initialize_config_dir
from transformers import AutoModelForCTC, pipeline

from tests.conftest import ROOT
from tests.e2e.test_train import corpus_args, run
from tests.families import TINY, save_tiny_checkpoint
from tests.upstream import onnxruntime_runs_an_onnx_made_model, reader_works
from vasr.audio import SAMPLE_RATE, Recording, load_audio
from vasr.decoding.ctc import CTCDecoding
from vasr.infer.transcribe import main as transcribe
from vasr.infer.transcriber import Transcriber
from vasr.model.export import load_features, load_for_inference
from vasr.model.family import family_of
from vasr.model.onnx import main as export_onnx_command
from vasr.recipe.evaluation import evaluate
from vasr.recipe.plots import read_metrics

pytestmark = pytest.mark.slow
FAMILIES = [family for family in TINY if family != "wav2vec2"]  # plain wav2vec2: tests/e2e/test_train.py
# Each family's tests on one pytest-xdist worker (--dist loadgroup), so its run trains once.
GROUPED = [pytest.param(family, marks=pytest.mark.xdist_group(f"family-{family}")) for family in FAMILIES]


@pytest.fixture(scope="module", params=GROUPED)
def trained(request, corpus, tmp_path_factory) -> tuple[Path, Path]:
    """(the pretrained checkpoint, the run folder) of 4 steps of ``request.param``'s family, decoding with an
    n-gram tuned on a one-point grid (so the export ships its LM)."""
    root = tmp_path_factory.mktemp(request.param)
    checkpoint = save_tiny_checkpoint(request.param, root / "pretrained")
    run(
        "train.py",
        "model=auto",
        f"model.pretrained={checkpoint}",
        "logger=csv",
        "~nlu",
        "decode=ngram",
        "decode.tune.alpha=[0.5]",
        "decode.tune.beta=[1.0]",
        *corpus_args(corpus),
        f"paths.runs_dir={root}",
        "run_name=family",
        "trainer.max_steps=4",
        "trainer.log_every_n_steps=1",
        "data.loader.max_seconds=20",
        "test_before_fit=false",
    )
    return checkpoint, root / "train" / "family"


def test_family_trains_and_exports_a_folder_transformers_pipeline_reads(trained):
    checkpoint, folder = trained
    results = json.loads((folder / "results.json").read_text())
    assert results["steps"] == 4 and results["skipped_batches"] == 0  # no batch lost to a NaN loss
    losses = [value for _, value in read_metrics(folder / "metrics.csv")["train/loss"]]
    assert losses and all(math.isfinite(loss) for loss in losses)
    exported = AutoModelForCTC.from_pretrained(folder / "export")
    assert type(exported) is type(AutoModelForCTC.from_pretrained(checkpoint))
    recogniser = pipeline("automatic-speech-recognition", model=str(folder / "export"))
    assert isinstance(recogniser(np.zeros(16000, np.float32))["text"], str)


def test_vasr_transcribe_gives_word_times_in_the_familys_frames(trained, corpus, tmp_path):
    _, folder = trained
    export = folder / "export"
    audio = sorted((corpus / "audio").iterdir())[:2]
    wav = tmp_path / "two.wav"  # two utterances with a pause: words of both, times past the first
    pause = np.zeros(SAMPLE_RATE // 2, np.float32)
    sf.write(wav, np.concatenate([load_audio(audio[0]), pause, load_audio(audio[1])]), SAMPLE_RATE)
    out = tmp_path / "out.jsonl"
    assert transcribe([str(export), str(wav), "--out", str(out)]) == 0
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["duration"] == pytest.approx(len(sf.read(wav)[0]) / SAMPLE_RATE, abs=1e-3)
    times = [t for word in row["words"] for t in (word["start"], word["end"])]
    assert times == sorted(times) and all(0 <= t <= row["duration"] for t in times)
    assert " ".join(word["word"] for word in row["words"]) == row["text"]
    # the frames the transcriber reads, at the family's frame duration, span the audio (w2v-BERT's adapter: 40 ms)
    model, tokenizer = load_for_inference(export)
    family = family_of(model.config)
    transcriber = Transcriber(model, CTCDecoding(tokenizer), device="cpu", features=load_features(export, model.config))
    recording = Recording(wav)
    frames = transcriber.log_probs(recording).shape[0]
    assert frames == family.frames(recording.samples)
    assert abs(frames * family.frame_seconds - recording.duration) <= 2 * family.frame_seconds


def test_vasr_evaluate_scores_the_export_with_its_tuned_lm(trained, corpus, tmp_path):
    _, folder = trained
    attrs = json.loads((folder / "export" / "language_model" / "attrs.json").read_text())
    args = [f"model_path={folder / 'export'}", *corpus_args(corpus), f"paths.output_dir={tmp_path}"]
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("evaluate", [*args, "device=cpu", "batch_size=32"])  # as the run scored its test split
    evaluate(cfg)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert (metrics["alpha"], metrics["beta"]) == (attrs["alpha"], attrs["beta"])
    # the export's test scores are the run's own (the same input, decoding and LM): training and vasr-evaluate agree
    results = json.loads((folder / "results.json").read_text())
    assert (metrics["wer"], metrics["lm_wer"]) == pytest.approx((results["test/wer"], results["test/lm_wer"]))


def test_vasr_export_onnx_gives_pytorchs_logits(trained, corpus, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    reader_works("onnxruntime", onnxruntime_runs_an_onnx_made_model)
    _, folder = trained
    export_onnx_command([str(folder / "export"), str(tmp_path)])
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    model, _ = load_for_inference(folder / "export")
    features = load_features(folder / "export", model.config)
    names = {i.name for i in session.get_inputs()}
    audio = [load_audio(path) for path in sorted((corpus / "audio").iterdir())[:2]]
    for batch in ([audio[0]], [audio[1]], audio if "attention_mask" in names else []):  # masked: a padded batch
        if not batch:
            continue
        inputs = {name: tensor for name, tensor in features(batch).items() if name in names}
        theirs = session.run(None, {name: tensor.numpy() for name, tensor in inputs.items()})[0]
        with torch.inference_mode():
            ours = model(**inputs).logits.numpy()
        assert theirs.shape == ours.shape
        assert np.allclose(theirs, ours, atol=1e-3, rtol=1e-3)
