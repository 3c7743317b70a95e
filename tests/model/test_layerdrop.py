import numpy as np
import torch
from transformers import AutoModelForCTC

from tests.conftest import MICRO_ARCHITECTURE
from tests.families import save_tiny_checkpoint
from vasr.model.build import build_from_config
from vasr.model.family import family_of
from vasr.model.layerdrop import SyncedLayerDrop
from vasr.text.vocab import PAD


def model_with_layerdrop(probability: float):
    torch.manual_seed(0)
    architecture = {**MICRO_ARCHITECTURE, "num_hidden_layers": 6}
    return build_from_config(architecture, {PAD: 0, "a": 1, "b": 2}, PAD, layerdrop=probability).train()


def test_skipped_layers_get_zero_gradient_then_none_others_train():
    model = model_with_layerdrop(0.5)
    drop = SyncedLayerDrop(model, seed=1)
    step = next(s for s in range(100) if 0 < len(drop.draw(s, 0)) < 6)
    labels = torch.tensor([[1, 2, 1]])
    with drop.skipping(step, 0) as skipped:
        assert len(model.wav2vec2.encoder.layers) == 6 - len(skipped) and model.config.layerdrop == 0.0
        loss = model(torch.randn(1, 4000), labels=labels).loss
    assert len(model.wav2vec2.encoder.layers) == 6 and model.config.layerdrop == 0.5  # restored
    (loss + drop.zero_term(skipped)).backward()
    layers = model.wav2vec2.encoder.layers
    for index, layer in enumerate(layers):
        grads = [p.grad for p in layer.parameters()]
        if index in skipped:  # every parameter reached by backward, as DDP's static graph needs, with 0
            assert all(g is not None and not g.any() for g in grads)
        else:
            assert any(g.any() for g in grads)
    drop.clear_unused_grads()
    assert all(p.grad is None for i in skipped for p in layers[i].parameters())
    assert all(p.grad is not None for i in set(range(6)) - set(skipped) for p in layers[i].parameters())


def test_off_in_evaluation_and_at_zero():
    model = model_with_layerdrop(0.9).eval()
    with SyncedLayerDrop(model).skipping(0, 0) as skipped:
        assert skipped == [] and len(model.wav2vec2.encoder.layers) == 6
    with SyncedLayerDrop(model_with_layerdrop(0.0)).skipping(0, 0) as skipped:
        assert skipped == []


def test_w2v_bert_adapter_layers_are_never_skipped_so_the_frame_count_holds(tmp_path):
    model = AutoModelForCTC.from_pretrained(save_tiny_checkpoint("wav2vec2-bert", tmp_path), layerdrop=1.0)
    layerdrop = SyncedLayerDrop(model.train(), seed=0)
    family = family_of(model.config)
    samples = 16000
    features = family.features()([np.random.default_rng(0).standard_normal(samples).astype(np.float32)])
    with layerdrop.skipping(step=0, batch_idx=0) as skipped:
        logits = model(**features).logits
    assert skipped == [0, 1] and logits.shape[1] == family.frames(samples)  # every encoder layer, no adapter layer
