"""The Lightning Trainer of a run: ``conf/trainer`` arguments, callbacks and loggers made from their configs."""

from __future__ import annotations

import logging
import warnings

import lightning as L
import transformers
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

# Library lines a run prints that tell its user nothing: Lightning's advertisement for its cloud logger, a
# deprecation inside Lightning's own pytree helper, and ModelCheckpoint's complaint in a run shorter than one
# validation (the run says that itself: vasr.recipe.training.best_checkpoint).
NOISE = {
    "lightning.pytorch.utilities.rank_zero": ("litlogger",),
}
NOISY_WARNINGS = (
    r".*isinstance\(treespec, LeafSpec\)",
    r"`ModelCheckpoint\(monitor=.*could not find the monitored key",
)


class DropMessages(logging.Filter):
    """Drops the records whose message holds one of ``parts``."""

    def __init__(self, parts: tuple[str, ...]) -> None:
        super().__init__()
        self.parts = parts

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(part in message for part in self.parts)


def one_line_per_message() -> None:
    """Lightning's messages once: the ``lightning`` package prints them through a console handler of its own and
    also hands them to the root logger (Hydra's console and ``train.log``); the root's handlers stay. And none
    of the libraries' noise (``NOISE``, ``NOISY_WARNINGS``, transformers' weight-loading and shard-writing bars)."""
    if logging.getLogger().handlers:
        logging.getLogger("lightning").handlers.clear()
    for name, parts in NOISE.items():
        if not any(isinstance(f, DropMessages) for f in logging.getLogger(name).filters):
            logging.getLogger(name).addFilter(DropMessages(parts))
    for pattern in NOISY_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)
    transformers.utils.logging.disable_progress_bar()


def build_trainer(cfg: DictConfig) -> L.Trainer:
    """``L.Trainer(**cfg.trainer)`` with every ``cfg.callbacks`` and ``cfg.logger`` entry instantiated.

    vasr's batch sampler shards batches by rank itself, so Lightning's DistributedSampler stays off.
    """
    callbacks = [instantiate(node) for node in (cfg.get("callbacks") or {}).values() if node]
    loggers = [instantiate(node) for node in (cfg.get("logger") or {}).values() if node]
    config = OmegaConf.to_container(cfg, resolve=True)
    for logger in loggers:
        logger.log_hyperparams(config)
    return L.Trainer(
        **OmegaConf.to_container(cfg.trainer, resolve=True),
        default_root_dir=cfg.paths.output_dir,
        logger=loggers,
        callbacks=callbacks,
        use_distributed_sampler=False,
    )
