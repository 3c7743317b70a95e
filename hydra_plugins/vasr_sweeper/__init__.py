"""vasr's Hydra sweeper on a current Optuna (``hparams_search=optuna``); the Hydra Optuna plugin pins optuna<3."""
