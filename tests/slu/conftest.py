"""A joint model trained once per session on synthesised command text, as the default run trains it."""

import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from tests.conftest import ROOT
from vasr.recipe.nlu import train_nlu
from vasr.recipe.run_folder import RunFolder
from vasr.slu.data import check_line
from vasr.synth.templates import CommandGenerator

# The tests of the session's trained joint model, on one xdist worker: trained once, not once per worker.
TRAINED = pytest.mark.xdist_group("slu-trained")


def commands(seed: int, count: int) -> list:
    generator = CommandGenerator(np.random.default_rng(seed))
    examples = []
    for index in range(count):
        u = generator.utterance()
        record = {"id": f"{seed}-{index}", "sentence": u.sentence, "intent": u.intent}
        examples.append(check_line(record | {"sentence_annotation": u.annotation, "entities": u.entities}))
    return examples


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(config_name="train").nlu  # as the default run trains it, fewer epochs
    cfg.max_epochs, cfg.accelerator = 6, "cpu"
    examples = {"train": commands(1, 1200), "val": commands(2, 100), "test": commands(3, 200)}
    run = RunFolder(tmp_path_factory.mktemp("run"))
    return train_nlu(cfg, examples, run, seed=0), examples, run
