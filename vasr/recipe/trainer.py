"""The Lightning Trainer of a run: ``conf/trainer`` arguments, callbacks and loggers made from their configs."""

from __future__ import annotations

import logging

import lightning as L
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from vasr.console import quiet_libraries


def one_line_per_message() -> None:
    """Lightning's messages once: the ``lightning`` package prints them through a console handler of its own and
    also hands them to the root logger (Hydra's console and ``train.log``); the root's handlers stay. And none
    of the libraries' noise (:func:`vasr.console.quiet_libraries`)."""
    if logging.getLogger().handlers:
        logging.getLogger("lightning").handlers.clear()
    quiet_libraries()


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
