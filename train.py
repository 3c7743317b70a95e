"""Train a wav2vec 2.0 CTC model: ``python train.py [model=...] [data=...] [trainer=...]``."""

import hydra
from omegaconf import DictConfig

from vasr.recipe.resolvers import register_resolvers

register_resolvers()  # before Hydra composes conf/


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float:
    from vasr.recipe.training import run_job

    return run_job(cfg)


if __name__ == "__main__":
    main()
