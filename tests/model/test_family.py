import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from transformers import WhisperConfig

from tests.families import HUB_VOCAB, TINY
from vasr.data.collate import CTCCollator, Example
from vasr.model.build import PretrainedUnavailable, load_pretrained
from vasr.model.family import UnsupportedCheckpoint, family_of
from vasr.model.layerdrop import SyncedLayerDrop
from vasr.text.vocab import PAD, build_vocab

CLASSES = {
    "wav2vec2": "Wav2Vec2ForCTC",
    "mms": "Wav2Vec2ForCTC",
    "hubert": "HubertForCTC",
    "wavlm": "WavLMForCTC",
    "data2vec-audio": "Data2VecAudioForCTC",
    "wav2vec2-bert": "Wav2Vec2BertForCTC",
}


def loaded(folder):
    vocab = build_vocab("union", ["bật đèn"], HUB_VOCAB)
    return load_pretrained(str(folder), vocab, PAD, HUB_VOCAB), vocab


@pytest.mark.parametrize("family", TINY)
def test_each_family_loads_as_its_own_class_with_every_saved_encoder_weight(tiny_checkpoints, family):
    model, vocab = loaded(tiny_checkpoints[family])
    assert type(model).__name__ == CLASSES[family] and model.lm_head.out_features == len(vocab)
    saved = load_file(tiny_checkpoints[family] / "model.safetensors")
    state = model.state_dict()
    encoder = [key for key in saved if not key.startswith("lm_head.")]
    assert encoder and all(torch.equal(state[key], saved[key]) for key in encoder)
    assert torch.equal(model.lm_head.weight[vocab["a"]], saved["lm_head.weight"][HUB_VOCAB["a"]])  # head rows kept


@pytest.mark.parametrize("family", TINY)
def test_frame_count_is_the_models_output_length(tiny_checkpoints, family):
    model, _ = loaded(tiny_checkpoints[family])
    info = family_of(model.config)
    features = info.features(info.extractor(tiny_checkpoints[family]))
    lengths = [1999, 4001, 16000, 23457]
    examples = [
        Example(str(n), np.random.default_rng(n).standard_normal(n).astype(np.float32), [], "") for n in lengths
    ]
    for example in examples:  # alone: the output length is the frame count
        batch = CTCCollator(features)([example])
        with torch.no_grad():
            assert model.eval()(
                **{k: batch[k] for k in (info.input_name, "attention_mask") if k in batch}
            ).logits.shape[1] == info.frames(len(example.audio))
    assert info.frame_seconds == pytest.approx(0.04 if family == "wav2vec2-bert" else 0.005)


def test_w2v_bert_takes_masked_filter_banks_and_has_no_feature_encoder(tiny_checkpoints):
    model, _ = loaded(tiny_checkpoints["wav2vec2-bert"])
    info = family_of(model.config)
    assert info.input_name == "input_features" and not info.has_feature_encoder(model)
    assert info.attention_modules == ("linear_q", "linear_k", "linear_v", "linear_out")
    audio = [np.zeros(16000, np.float32), np.zeros(8000, np.float32)]
    batch = info.features(info.extractor(tiny_checkpoints["wav2vec2-bert"]))(audio)
    assert batch["input_features"].shape[2] == 160 and batch["attention_mask"].sum(1).tolist() == [49, 24]


def test_wavlm_layerdrop_never_skips_the_first_layer(tiny_checkpoints):
    model, _ = loaded(tiny_checkpoints["wavlm"])
    model.config.layerdrop = 1.0
    drawn = SyncedLayerDrop(model).draw(0, 0)
    assert drawn == [1]  # its first layer computes the position bias the others read


def test_whisper_is_refused_before_anything_is_built(tmp_path):
    WhisperConfig().save_pretrained(tmp_path)  # a config alone: no weights to read
    with pytest.raises(UnsupportedCheckpoint, match="no CTC head.*wav2vec2-bert"):
        load_pretrained(str(tmp_path), {PAD: 0, "a": 1}, PAD)


def test_a_checkpoint_missing_encoder_weights_is_refused(tiny_checkpoints, tmp_path):
    """HuBERT weights under a wav2vec2 config: every encoder tensor would start random (issue 28's trap)."""
    (tmp_path / "model.safetensors").write_bytes((tiny_checkpoints["hubert"] / "model.safetensors").read_bytes())
    (tmp_path / "config.json").write_text((tiny_checkpoints["wav2vec2"] / "config.json").read_text())
    with pytest.raises(PretrainedUnavailable, match="random start"):
        load_pretrained(str(tmp_path), {PAD: 0, "a": 1}, PAD)
