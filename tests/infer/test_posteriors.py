"""Every pass of a model over audio runs where it is told (the GPU counterpart is tests/test_gpu.py)."""

import torch

from vasr import ASSETS
from vasr.data.collate import CTCCollator
from vasr.data.dataset import SpeechDataset
from vasr.data.features import Waveform
from vasr.data.manifest import read_manifest
from vasr.decoding.ctc import CTCDecoding
from vasr.infer.forward import resolve_device
from vasr.infer.posteriors import posteriors
from vasr.infer.transcriber import Transcriber
from vasr.model.export import load_for_inference
from vasr.recipe.evaluation import score


def on_devices(model: torch.nn.Module) -> list[tuple[str, str]]:
    """(weights' device, input's device) of every forward pass of ``model`` from now on."""
    seen: list[tuple[str, str]] = []

    def record(module, args, kwargs):
        values = args[0] if args else kwargs["input_values"]
        seen.append((next(module.parameters()).device.type, values.device.type))

    model.register_forward_pre_hook(record, with_kwargs=True)
    return seen


def test_passes_run_on_the_device_asked_for_and_auto_is_the_cpu_without_a_gpu(corpus):
    items, _ = read_manifest(corpus / "manifest.jsonl", corpus / "audio", numbers="verbalize")
    model, tokenizer = load_for_inference(ASSETS / "vasr-tiny-vi")
    seen = on_devices(model)
    log_probs, _ = posteriors(model, tokenizer, items[:3], 2, device="cpu")
    rates = score(model, CTCDecoding(tokenizer), items[:3], 2, device="cpu")
    Transcriber(model, CTCDecoding(tokenizer), device="cpu")(items[0].path)
    assert len(seen) >= 5 and set(seen) == {("cpu", "cpu")} and all(r.device.type == "cpu" for r in log_probs)
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert score(model, CTCDecoding(tokenizer), items[:3], 2, device="auto")["wer"] == rates["wer"]


def test_a_model_without_attention_mask_scores_alike_whatever_the_batch(corpus):
    """vasr-tiny-vi normalises its input over time, padding included: plainly padded batches would change its output
    (the run's padded test scoring once disagreed with evaluate.py's batch 1 on 46 of 300 hypotheses); read by
    CTCForward, a batch gives each utterance what it gets alone."""
    model, tokenizer = load_for_inference(ASSETS / "vasr-tiny-vi")
    items, _ = read_manifest(corpus / "manifest.jsonl", corpus / "audio")
    items = items[:6]
    alone, _ = posteriors(model, tokenizer, items, batch_size=1, device="cpu")
    batched, _ = posteriors(model, tokenizer, items, batch_size=6, device="cpu")
    assert all((a - b).abs().max() <= 1e-4 for a, b in zip(alone, batched, strict=True))
    assert [a.argmax(-1).tolist() for a in alone] == [b.argmax(-1).tolist() for b in batched]
    padded = CTCCollator(Waveform(attention_mask=False))(
        [SpeechDataset(items, tokenizer)[i] for i in range(len(items))]
    )
    with torch.inference_mode():
        logits = model(padded["input_values"]).logits
    shortest = min(range(len(items)), key=lambda i: items[i].duration)
    frames = alone[shortest].shape[0]
    assert not torch.allclose(logits[shortest, :frames].log_softmax(-1), alone[shortest], atol=1e-3)  # why it matters
