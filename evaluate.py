"""Score a model: ``python evaluate.py model_path=CKPT_OR_FOLDER [data=soict data.manifest=PATH ...]``."""

import hydra
from omegaconf import DictConfig

from vasr.recipe.resolvers import register_resolvers

register_resolvers()  # before Hydra composes conf/


@hydra.main(version_base="1.3", config_path="conf", config_name="evaluate")
def main(cfg: DictConfig) -> float:
    from vasr.recipe.evaluation import evaluate

    return evaluate(cfg)["wer"]


if __name__ == "__main__":
    main()
