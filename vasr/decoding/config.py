"""``conf/decode`` as a typed object: which language model, the beam settings to change, the weights to search."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from omegaconf import DictConfig, OmegaConf

from vasr.decoding.beam import BeamSettings


@dataclass
class DecodeConfig:
    """How a model's CTC outputs become text; greedy transcripts are always made beside.

    ``lm``: None (greedy only), ``train`` (Kneser-Ney n-gram of order ``order`` over the training
    transcripts), ``auto`` (the model folder's ``language_model/``, with the settings it was saved with)
    or the path of a KenLM model (ARPA or binary). ``beam``: fields of :class:`BeamSettings` to set; the
    rest keep BeamSettings' defaults (with ``auto``, the folder's own). ``tune``: LM weights to search by
    WER on the validation split (``{"alpha": [...], "beta": [...]}``; one point sets them; None keeps
    them). ``hotwords``: words or phrases the beam search favours by ``hotword_weight`` (a beam without an
    n-gram when there is none).
    """

    lm: str | None = None
    order: int = 3
    beam: dict[str, float] = field(default_factory=dict)
    tune: dict[str, list[float]] | None = None
    hotwords: list[str] = field(default_factory=list)
    hotword_weight: float = 10.0

    def __post_init__(self) -> None:
        known = {f.name for f in fields(BeamSettings)}
        unknown = set(self.beam) - known
        if unknown:
            raise ValueError(
                f"decode.beam: unknown settings {sorted(unknown)}; BeamSettings has {fields(BeamSettings)}"
            )
        if self.hotwords and not self.lm:
            raise ValueError("hotwords need beam search: give a language model (decode.lm) or drop --greedy")

    @classmethod
    def from_yaml(cls, node: DictConfig) -> DecodeConfig:
        return cls(**OmegaConf.to_container(node, resolve=True))

    def settings(self, base: BeamSettings | None = None) -> BeamSettings:
        """``base`` (BeamSettings' defaults when None) with this config's changes."""
        return replace(base or BeamSettings(), **self.beam)

    @property
    def weight_grid(self) -> tuple[list[float], list[float]] | None:
        """The alphas and betas to search on validation, or None when the weights stay as they are."""
        if self.lm in (None, "auto") or not self.tune:
            return None
        settings = self.settings()
        return list(self.tune.get("alpha", [settings.alpha])), list(self.tune.get("beta", [settings.beta]))
