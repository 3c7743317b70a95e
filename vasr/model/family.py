"""What vasr needs to know of a CTC encoder family, said once and asked everywhere else.

A family is keyed by its checkpoint config's ``model_type``: the input the model takes and the feature
extractor that makes it, its output frames for N samples (CTC-fit check, word times), the parts that
can be frozen, its transformer layers (LayerDrop sync under DDP), the module names PEFT targets, and
the ONNX input names. Data, model, inference and export ask the family; none asks "is this wav2vec2?".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from torch import nn
from transformers import (
    MODEL_FOR_CTC_MAPPING,
    AutoFeatureExtractor,
    PretrainedConfig,
    PreTrainedModel,
    SeamlessM4TFeatureExtractor,
    Wav2Vec2FeatureExtractor,
)
from transformers.feature_extraction_utils import FeatureExtractionMixin

from vasr.audio import SAMPLE_RATE
from vasr.data.features import AudioFeatures, Extracted, Waveform

WAVEFORM_FAMILIES = ("wav2vec2", "hubert", "wavlm", "data2vec-audio")  # convolutional feature encoder over samples
FILTERBANK_FAMILIES = ("wav2vec2-bert",)  # SeamlessM4TFeatureExtractor's stacked 80-bin filter banks
MEL_BINS = 80
FBANK_WINDOW, FBANK_HOP = 400, 160  # SeamlessM4TFeatureExtractor: 25 ms windows every 10 ms
# Module names inside each transformer layer, for PEFT's target_modules.
ATTENTION = {"wav2vec2-bert": ("linear_q", "linear_k", "linear_v", "linear_out")}
WAVEFORM_ATTENTION = ("q_proj", "k_proj", "v_proj", "out_proj")
FEED_FORWARD = ("intermediate_dense", "output_dense")


class UnsupportedCheckpoint(ValueError):
    """A checkpoint vasr cannot fine-tune with CTC (no CTC head in transformers, or a family vasr does not know)."""


@dataclass(frozen=True)
class Family:
    """A model config's family, with the facts the pipeline reads from it."""

    config: PretrainedConfig

    @property
    def model_type(self) -> str:
        return self.config.model_type

    @property
    def ctc_class(self) -> type[PreTrainedModel]:
        return MODEL_FOR_CTC_MAPPING[type(self.config)]

    @property
    def input_name(self) -> str:
        """``input_values`` (raw waveform) or ``input_features`` (filter banks), as the model's forward names it."""
        return self.ctc_class.main_input_name

    @property
    def filterbank(self) -> bool:
        return self.model_type in FILTERBANK_FAMILIES

    @property
    def stacked_frames(self) -> int:
        """Filter-bank frames stacked into one input frame (w2v-BERT's 160-wide input projection over 80 bins)."""
        return self.config.feature_projection_input_dim // MEL_BINS

    @property
    def adapter_layers(self) -> int:
        """Strided adapter convolutions after the encoder (w2v-BERT's ``add_adapter``), each dividing the frames."""
        return self.config.num_adapter_layers if getattr(self.config, "add_adapter", False) else 0

    def frames(self, samples: int) -> int:
        """Output frames (CTC steps) the model makes of ``samples`` of 16 kHz audio, from its config."""
        config = self.config
        if self.filterbank:
            frames = (samples - FBANK_WINDOW) // FBANK_HOP + 1 if samples >= FBANK_WINDOW else 0
            frames //= self.stacked_frames
            padding = config.adapter_kernel_size // 2
            for _ in range(self.adapter_layers):
                frames = (frames + 2 * padding - config.adapter_kernel_size) // config.adapter_stride + 1
            return max(frames, 0)
        for kernel, stride in zip(config.conv_kernel, config.conv_stride, strict=True):
            samples = (samples - kernel) // stride + 1
        for _ in range(self.adapter_layers):  # wav2vec2-family adapters: kernel 1
            samples = (samples - 1) // config.adapter_stride + 1
        return max(samples, 0)

    @property
    def samples_per_frame(self) -> int:
        """The hop between output frames, in samples (320 for wav2vec2's 20 ms; w2v-BERT: 320 times its adapter's
        strides)."""
        base = FBANK_HOP * self.stacked_frames if self.filterbank else math.prod(self.config.conv_stride)
        return base * getattr(self.config, "adapter_stride", 1) ** self.adapter_layers

    @property
    def frame_seconds(self) -> float:
        return self.samples_per_frame / SAMPLE_RATE

    def default_extractor(self) -> FeatureExtractionMixin:
        """The feature extractor of a model built here (or a checkpoint without one): standardised 16 kHz waveform
        with an attention mask only for layer-normed feature encoders (group-normed base ones were trained without
        one), or w2v-BERT's filter banks."""
        if self.filterbank:
            return SeamlessM4TFeatureExtractor(
                feature_size=MEL_BINS, num_mel_bins=MEL_BINS, stride=self.stacked_frames, sampling_rate=SAMPLE_RATE
            )
        return Wav2Vec2FeatureExtractor(
            feature_size=1,
            sampling_rate=SAMPLE_RATE,
            padding_value=0.0,
            do_normalize=True,
            return_attention_mask=getattr(self.config, "feat_extract_norm", "layer") == "layer",
        )

    def extractor(self, source: str | Path) -> FeatureExtractionMixin:
        """The checkpoint's own feature extractor; the family's default when it ships none."""
        try:
            return AutoFeatureExtractor.from_pretrained(str(source))
        except (OSError, ValueError):
            return self.default_extractor()

    def features(self, extractor: FeatureExtractionMixin | None = None) -> AudioFeatures:
        """What the collator calls to make this model's input from waveforms, with ``extractor``'s settings."""
        extractor = extractor or self.default_extractor()
        if self.filterbank:
            return Extracted(extractor, FBANK_HOP, self.input_name)
        return Waveform(
            normalize=bool(getattr(extractor, "do_normalize", True)),
            padding_value=float(getattr(extractor, "padding_value", 0.0)),
            attention_mask=bool(extractor.return_attention_mask),
            input_name=self.input_name,
        )

    @staticmethod
    def encoder(model: PreTrainedModel) -> nn.Module:
        """Everything below the CTC head (``model.wav2vec2``, ``model.hubert``, ...), also of a model peft wraps
        for LoRA (its ``get_base_model()`` is the transformers model)."""
        inner = model.get_base_model() if hasattr(model, "get_base_model") else model
        return inner.base_model

    def layers(self, model: PreTrainedModel) -> nn.ModuleList:
        """The transformer (or conformer) layers: LayerDrop's and gradient checkpointing's unit."""
        return self.encoder(model).encoder.layers

    @property
    def droppable_from(self) -> int:
        """The first layer LayerDrop may skip: WavLM's first layer computes the relative position bias the others
        reuse, so transformers never drops it."""
        return 1 if self.model_type == "wavlm" else 0

    @property
    def reads_padding_exactly(self) -> bool:
        """Whether the model reads a padded, masked batch as each utterance alone (tests/infer/test_forward.py). Not
        data2vec-audio: its positional embedding stacks convolutions with LayerNorms that no mask reaches, so padded
        frames turn non-zero and move the last real ones (0.2 in log-probability, measured there); nor a model with
        transformers' strided adapter on top (``add_adapter``: w2v-BERT's as fine-tuned for CTC), which lets the
        padding in (0.11 on a short utterance). Those are batched at equal lengths only."""
        return self.model_type != "data2vec-audio" and not getattr(self.config, "add_adapter", False)

    @staticmethod
    def has_feature_encoder(model: PreTrainedModel) -> bool:
        """Whether there is a convolutional feature encoder to freeze (none in w2v-BERT: it reads filter banks)."""
        return hasattr(model, "freeze_feature_encoder")

    @property
    def attention_modules(self) -> tuple[str, ...]:
        """PEFT target module names of each layer's self-attention; none for WavLM, whose attention hands the
        projections' weights to ``F.multi_head_attention_forward`` instead of calling the modules, so LoRA on them
        would never run."""
        if self.model_type == "wavlm":
            return ()
        return ATTENTION.get(self.model_type, WAVEFORM_ATTENTION)

    @property
    def feed_forward_modules(self) -> tuple[str, ...]:
        return FEED_FORWARD

    @property
    def onnx_inputs(self) -> tuple[str, ...]:
        """ONNX input names: the model's input, and the attention mask where filter banks come padded with it."""
        return (self.input_name, "attention_mask") if self.filterbank else (self.input_name,)


def family_of(config: PretrainedConfig) -> Family:
    """The family of ``config``; a checkpoint vasr cannot fine-tune with CTC is refused, saying what would work."""
    known = ", ".join(WAVEFORM_FAMILIES + FILTERBANK_FAMILIES)
    if type(config) not in MODEL_FOR_CTC_MAPPING:
        raise UnsupportedCheckpoint(
            f"a {config.model_type!r} checkpoint has no CTC head in transformers (AutoModelForCTC), so vasr cannot "
            f"fine-tune it with CTC; use a checkpoint of a CTC encoder family: {known} (e.g. "
            "nguyenvulebinh/wav2vec2-base-vietnamese-250h, facebook/w2v-bert-2.0, facebook/mms-300m)"
        )
    if config.model_type not in WAVEFORM_FAMILIES + FILTERBANK_FAMILIES:
        raise UnsupportedCheckpoint(
            f"transformers has a CTC head for {config.model_type!r}, but vasr does not know its frame rate and "
            f"layers yet; the families it fine-tunes: {known}"
        )
    return Family(config)
