"""The Lightning Trainer of a run: ``conf/trainer`` arguments, callbacks and loggers made from their configs."""

from __future__ import annotations

import logging
import warnings
from datetime import timedelta
from typing import Any

import lightning as L
import torch
from hydra.utils import instantiate
from lightning.pytorch.strategies import DDPStrategy
from omegaconf import DictConfig, OmegaConf

from vasr.console import quiet_libraries
from vasr.recipe.checkpoint_io import AtomicCheckpointIO


def one_line_per_message() -> None:
    """Lightning's messages once: the ``lightning`` package prints them through a console handler of its own and
    also hands them to the root logger (Hydra's console and ``train.log``); the root's handlers stay. And none
    of the libraries' noise (:func:`vasr.console.quiet_libraries`)."""
    if logging.getLogger().handlers:
        logging.getLogger("lightning").handlers.clear()
    quiet_libraries()
    # Lightning asks the DataLoader itself for state_dict/load_state_dict; vasr's loader resumes mid-epoch through
    # the datamodule's state (its batch sampler's place in the epoch), so the warning is wrong for vasr's runs.
    warnings.filterwarnings(
        "ignore",
        message="You're resuming from a checkpoint that ended before the epoch ended",
        module="lightning.pytorch.loops.training_epoch_loop",
    )


def build_trainer(cfg: DictConfig) -> L.Trainer:
    """``L.Trainer(**cfg.trainer)`` with every ``cfg.callbacks`` and ``cfg.logger`` entry instantiated, and every
    checkpoint written whole or not at all (:class:`AtomicCheckpointIO`).

    vasr's batch sampler shards batches by rank itself, so Lightning's DistributedSampler stays off.
    """
    callbacks = [instantiate(node) for node in (cfg.get("callbacks") or {}).values() if node]
    loggers = [instantiate(node) for node in (cfg.get("logger") or {}).values() if node]
    config = OmegaConf.to_container(cfg, resolve=True)
    for logger in loggers:
        logger.log_hyperparams(config)
    arguments = OmegaConf.to_container(cfg.trainer, resolve=True)
    chosen = strategy(arguments)
    return L.Trainer(
        **arguments,
        strategy=chosen,
        default_root_dir=cfg.paths.output_dir,
        logger=loggers,
        callbacks=callbacks,
        plugins=[AtomicCheckpointIO()],
        use_distributed_sampler=False,
    )


def process_count(arguments: dict[str, Any]) -> int:
    """How many processes ``trainer``'s settings start: devices per node times nodes."""
    devices = arguments.get("devices", 1)
    if devices in ("auto", -1, "-1"):
        devices = torch.cuda.device_count() if arguments.get("accelerator") in ("auto", "gpu", "cuda") else 1
    return int(arguments.get("num_nodes", 1)) * (len(devices) if isinstance(devices, list) else int(devices))


def strategy(arguments: dict[str, Any]) -> str | DDPStrategy:
    """``trainer.strategy``, with DDP's collectives bounded by ``trainer.collective_timeout_s`` (both keys taken out
    of ``arguments``): a dead or frozen rank ends the job within it, where torch's default waits 30 minutes."""
    name = arguments.pop("strategy")
    timeout = timedelta(seconds=arguments.pop("collective_timeout_s"))
    if name == "ddp" or (name == "auto" and process_count(arguments) > 1):  # "auto" picks DDP for several processes
        return DDPStrategy(timeout=timeout)
    return name
