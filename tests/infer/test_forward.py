"""Batched equals unbatched for every encoder family: a padded batch changes no utterance's log-probabilities."""

import numpy as np
import pytest
import torch

from tests.families import TINY, save_tiny_checkpoint
from vasr import ASSETS
from vasr.data.collate import CTCCollator, Example
from vasr.data.features import Waveform
from vasr.infer.forward import CTCForward
from vasr.model.export import load_features, load_for_inference

TOLERANCE = 1e-4  # log-probabilities: float rounding of batched matrix products, nothing more
LENGTHS = (16000, 9000, 23000, 4000)  # samples: every one padded in the batch but the longest


def waveforms() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.standard_normal(n).astype(np.float32) * 0.1 for n in LENGTHS]


def batch(collate: CTCCollator, audio: list[np.ndarray]) -> dict:
    return collate([Example(str(i), samples, [], "") for i, samples in enumerate(audio)])


def assert_batched_equals_unbatched(forward: CTCForward, collate: CTCCollator) -> None:
    audio = waveforms()
    alone = [forward(batch(collate, [samples]))[0] for samples in audio]
    together = forward(batch(collate, audio))
    for one, many in zip(alone, together, strict=True):
        assert one.shape == many.shape
        assert (one - many).abs().max() <= TOLERANCE
        assert torch.equal(one.argmax(-1), many.argmax(-1))  # the same greedy text


@pytest.mark.parametrize("family", sorted(TINY))
@pytest.mark.parametrize("attention_mask", [True, False], ids=["masked", "unmasked"])
def test_every_family_reads_a_padded_batch_as_each_utterance_alone(family, attention_mask, tmp_path):
    """With the mask it was trained with, and (waveform families) as a base checkpoint trained without one is read."""
    checkpoint = save_tiny_checkpoint(family, tmp_path)
    model, _ = load_for_inference(checkpoint)
    features = load_features(checkpoint, model.config)
    if not attention_mask:
        if not isinstance(features, Waveform):
            pytest.skip("filter banks always come with their mask")
        model.config.feat_extract_norm = "group"  # rebuilt below with a GroupNorm first layer, as base checkpoints
        model = type(model)(model.config).eval()
        features = Waveform(attention_mask=False)
    forward = CTCForward(model, features, "cpu")
    collate = CTCCollator(features)
    if forward.family.reads_padding_exactly:
        assert forward.pads_exactly
        assert_batched_equals_unbatched(forward, collate)
        return
    assert not forward.pads_exactly  # data2vec-audio, w2v-BERT's adapter: equal lengths only, and those are exact
    equal = [samples[: min(LENGTHS)] for samples in waveforms()]
    alone = [forward(batch(collate, [samples]))[0] for samples in equal]
    assert all((a - b).abs().max() <= TOLERANCE for a, b in zip(alone, forward(batch(collate, equal)), strict=True))
    with pytest.raises(ValueError, match="padded batch"):
        forward(batch(collate, waveforms()))


def test_the_families_read_inexactly_are_inexact_when_padded(tmp_path):
    """Why :attr:`Family.reads_padding_exactly` excludes them: padded with their mask, they move real frames."""
    for family in ("data2vec-audio", "wav2vec2-bert"):
        checkpoint = save_tiny_checkpoint(family, tmp_path / family)
        model, _ = load_for_inference(checkpoint)
        features = load_features(checkpoint, model.config)
        forward, collate = CTCForward(model, features, "cpu"), CTCCollator(features)
        alone = [forward(batch(collate, [samples]))[0] for samples in waveforms()]
        padded = batch(collate, waveforms())
        with torch.inference_mode():
            logits = model(**{k: padded[k] for k in (features.input_name, "attention_mask")}).logits.log_softmax(-1)
        worst = max((logits[i, : a.shape[0]] - a).abs().max() for i, a in enumerate(alone))
        assert worst > 1e-2, family


def test_the_shipped_group_normed_model_batched_equals_unbatched_though_plain_padding_changes_it():
    model, _ = load_for_inference(ASSETS / "vasr-tiny-vi")
    features = Waveform(attention_mask=False)
    collate = CTCCollator(features)
    forward = CTCForward(model, features, "cpu")
    assert_batched_equals_unbatched(forward, collate)
    padded = batch(collate, waveforms())
    with torch.inference_mode():
        plain = model(padded["input_values"]).logits.log_softmax(-1)
    alone = forward(batch(collate, waveforms()[1:2]))[0]
    assert (plain[1, : alone.shape[0]] - alone).abs().max() > 1e-2  # what the utterance-wise encoder prevents


def test_a_group_normed_model_whose_extractor_returns_a_mask_is_still_read_utterance_wise():
    """Fine-tuned base checkpoints that save ``return_attention_mask: true`` exist: the mask alone would not stop the
    GroupNorm from seeing the padding (8.9 in log-probability on the short row)."""
    model, _ = load_for_inference(ASSETS / "vasr-tiny-vi")
    features = Waveform(attention_mask=True)
    forward = CTCForward(model, features, "cpu")
    assert forward.owner is not None and forward.pads_exactly
    assert_batched_equals_unbatched(forward, CTCCollator(features))


def test_a_model_that_cannot_take_padding_refuses_a_padded_batch_rather_than_score_it_wrongly():
    model, _ = load_for_inference(ASSETS / "vasr-tiny-vi")
    features = Waveform(attention_mask=False)
    forward = CTCForward(model, features, "cpu")
    forward.owner = None  # as for a graph without a mask input (ONNX)
    assert not forward.pads_exactly
    with pytest.raises(ValueError, match="padded batch"):
        forward(batch(CTCCollator(features), waveforms()))
