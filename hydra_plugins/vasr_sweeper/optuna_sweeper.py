"""The Hydra side of the Optuna sweeper: Hydra imports every module under ``hydra_plugins`` at start-up, so this
one stays light and the study lives in :mod:`vasr.recipe.optuna_search`."""

from __future__ import annotations

from typing import Any

from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


class OptunaSweeper(Sweeper):
    """Trials of one Optuna study, run as Hydra jobs through the configured launcher."""

    def __init__(self, **settings: Any) -> None:
        self.settings = settings

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> Any:
        from vasr.recipe.optuna_search import OptunaSearch

        search = OptunaSearch(self.config, self.launcher, self.validate_batch_is_legal, **self.settings)
        return search.run(arguments)
