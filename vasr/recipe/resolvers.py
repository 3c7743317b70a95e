"""The config resolvers of ``conf/`` (``${vasr_asset:NAME}``, ``${vasr_launch_id:}``, ``${vasr_precision:}``,
``${vasr_rank_zero:VALUE}``), registered by what composes the configs (train.py, evaluate.py, the tests) rather
than by importing vasr, so the package root depends on nothing above it."""

from __future__ import annotations

from omegaconf import OmegaConf

from vasr import ASSETS
from vasr.recipe.run_folder import is_writer, launch_id, precision


def register_resolvers() -> None:
    """Register vasr's resolvers with OmegaConf (twice is harmless); Hydra hands them on to the jobs its launchers
    start in other processes."""
    # Files shipped inside the package (the pretrained checkpoint), wherever vasr is installed.
    OmegaConf.register_new_resolver("vasr_asset", lambda name: str(ASSETS / name), replace=True)
    OmegaConf.register_new_resolver("vasr_launch_id", launch_id, use_cache=True, replace=True)
    OmegaConf.register_new_resolver("vasr_precision", precision, use_cache=True, replace=True)
    # Hydra writes its .hydra/ folder from global rank 0 only.
    OmegaConf.register_new_resolver("vasr_rank_zero", lambda value: value if is_writer() else None, replace=True)
