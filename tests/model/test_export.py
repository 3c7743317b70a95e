"""Reading a checkpoint's feature extractor back: the class its saved ``feature_extractor_type`` names."""

import pytest
import torch
from transformers import SeamlessM4TFeatureExtractor, Wav2Vec2Config, Wav2Vec2FeatureExtractor

from vasr.model.export import load_extractor


def checkpoint_with(tmp_path, extractor: dict):
    """The part of a vasr checkpoint ``load_extractor`` reads."""
    path = tmp_path / "last.ckpt"
    torch.save({"vasr": {"feature_extractor": extractor}}, path)
    return path


@pytest.mark.parametrize(
    "saved",
    [Wav2Vec2FeatureExtractor(do_normalize=False), SeamlessM4TFeatureExtractor(num_mel_bins=40)],
    ids=["waveform", "filter_banks"],
)
def test_a_checkpoint_s_extractor_comes_back_as_its_own_class_with_its_settings(tmp_path, saved):
    loaded = load_extractor(checkpoint_with(tmp_path, saved.to_dict()), Wav2Vec2Config())
    assert type(loaded) is type(saved) and loaded.to_dict() == saved.to_dict()


def test_an_extractor_transformers_does_not_have_is_named_with_the_checkpoint(tmp_path):
    path = checkpoint_with(tmp_path, {"feature_extractor_type": "NoSuchFeatureExtractor"})
    with pytest.raises(ValueError, match=r"last\.ckpt: its feature extractor 'NoSuchFeatureExtractor' is not one"):
        load_extractor(path, Wav2Vec2Config())
