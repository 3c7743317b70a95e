import numpy as np
import torch

from vasr.data.collate import LABEL_PAD, CTCCollator, Example
from vasr.data.features import Waveform


def examples():
    return [Example("a", np.ones(5, np.float32), [3, 4], "ab"), Example("b", np.ones(3, np.float32), [5], "c")]


def test_pads_audio_with_zeros_and_labels_with_minus_100():
    batch = CTCCollator(Waveform(normalize=False))(examples())
    assert batch["input_values"].shape == (2, 5)
    assert batch["input_values"][1].tolist() == [1, 1, 1, 0, 0]
    assert batch["labels"].tolist() == [[3, 4], [5, LABEL_PAD]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]
    assert batch["input_lengths"].tolist() == [5, 3] and batch["ids"] == ["a", "b"]


def test_no_attention_mask_for_models_trained_without_one():
    batch = CTCCollator(Waveform(attention_mask=False))(examples())
    assert "attention_mask" not in batch and batch["input_values"].dtype == torch.float32
