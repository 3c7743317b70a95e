"""Every config group composes, and the reference recipe's numbers are where users expect them."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import OmegaConf

from vasr.augment import Augmentation

CONF = str(Path(__file__).resolve().parents[1] / "conf")


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (Path(CONF) / group).glob("*.yaml"))


def compose_train(overrides: list[str]):
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        return compose(config_name="train", overrides=overrides, return_hydra_config=True)


@pytest.mark.parametrize(
    "override",
    [f"{group}={name}" for group in ("model", "vocab", "trainer", "logger", "decode") for name in options(group)]
    + ["data=demo", "data=soict", "data=broad", "data.numbers=keep", "experiment=pretrain_base"],
)
def test_every_group_option_composes(override):
    cfg = compose_train([override, "data.manifest=m.jsonl", "data.audio_dir=a"])
    OmegaConf.to_container(cfg.model, resolve=True)
    assert cfg.vocab.strategy in ("corpus", "pretrained", "union", "alphabet")


def test_reference_recipe_numbers():
    cfg = compose_train(["experiment=reference", "trainer=gpu", "trainer.devices=2"])
    assert cfg.model.pretrained == "nguyenvulebinh/wav2vec2-base-vietnamese-250h"
    optimizer, scheduler = cfg.model.optimizer, cfg.model.scheduler
    assert (optimizer.lr, optimizer.weight_decay, scheduler.num_warmup_steps) == (1e-4, 0.005, 1000)
    assert scheduler.name == "linear" and cfg.model.overrides.layerdrop == 0.1
    assert cfg.data.loader.batch_size == 16 and cfg.data.loader.max_seconds is None
    assert cfg.model.gradient_checkpointing and cfg.model.freeze_feature_encoder
    assert cfg.trainer.precision == "16-mixed" and cfg.trainer.devices == 2
    assert cfg.vocab.strategy == "union"


def test_checkpoints_of_each_model():
    names = ("large_vlsp", "base", "xlsr", "tiny")
    ids = {name: compose_train([f"model={name}"]).model.pretrained for name in names}
    assert ids == {
        "large_vlsp": "nguyenvulebinh/wav2vec2-large-vi-vlsp2020",
        "base": "facebook/wav2vec2-base",
        "xlsr": "facebook/wav2vec2-xls-r-300m",
        "tiny": None,
    }


def test_evaluate_config_composes():
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        cfg = compose(config_name="evaluate", overrides=["model_path=x.ckpt"])
    assert cfg.batch_size == 1 and cfg.split == "test" and cfg.decode.lm == "auto"


def test_pretrain_experiment_wins_over_train_defaults():
    cfg = compose_train(["experiment=pretrain_base"])
    assert cfg.run_name == "pretrain_base" and cfg.data.name == "broad" and cfg.vocab.strategy == "alphabet"
    assert cfg.model.pretrained is None and cfg.trainer.max_steps > 0 and cfg.data.synthesize.text == "broad"
    assert cfg.decode.lm is None  # random word sequences: no language model to learn


def test_default_run_decodes_with_a_tuned_ngram_of_its_training_text():
    decode = compose_train([]).decode
    assert decode.lm == "train" and decode.alpha is None and decode.beta is None and len(decode.grid.alpha) > 1


def test_slurm_launcher_asks_for_the_trainers_nodes_and_devices():
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        cfg = compose(
            config_name="train",
            overrides=["launcher=slurm", "trainer=gpu", "trainer.devices=4", "trainer.num_nodes=2"],
            return_hydra_config=True,
        )
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert (launcher.nodes, launcher.tasks_per_node, launcher.gpus_per_node) == (2, 4, 4)


def test_augment_options_instantiate_and_the_recipes_train_on_clean_audio(tmp_path):
    (tmp_path / "noise").mkdir()
    (tmp_path / "rirs").mkdir()
    sf.write(tmp_path / "noise" / "n.wav", np.random.default_rng(0).uniform(-0.1, 0.1, 16000), 16000)
    sf.write(tmp_path / "rirs" / "r.wav", np.eye(1, 800, 0)[0], 16000)
    default = instantiate(compose_train(["augment=default"]).augment)
    assert isinstance(default, Augmentation) and list(default.transforms) == ["reverb", "noise"]
    assert default.speeds == (0.9, 1.0, 1.1) and len(default.transforms["noise"].sources) == 3
    folders = compose_train(
        [
            "augment=folders",
            f"augment.noise.sources.folder.path={tmp_path / 'noise'}",
            f"augment.reverb.rooms.path={tmp_path / 'rirs'}",
        ]
    )
    assert len(instantiate(folders.augment).transforms["noise"].sources[0].files) == 1
    assert not compose_train([]).augment and not compose_train(["augment=none"]).augment  # off by default
    assert not instantiate(compose_train(["augment=default", "augment.reverb=null"]).augment).transforms.get("reverb")
    for experiment in ("reference", "pretrain_base"):
        assert not compose_train([f"experiment={experiment}"]).augment
