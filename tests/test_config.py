"""Every config group composes, and the reference recipe's numbers are where users expect them."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import OmegaConf

from tests.conftest import ROOT
from vasr.augment import Augmentation
from vasr.decoding.config import DecodeConfig

CONF = str(Path(__file__).resolve().parents[1] / "conf")


def options(group: str) -> list[str]:
    """A group's options; ``_common.yaml``-style files are what the options extend, not options."""
    return sorted(p.stem for p in (Path(CONF) / group).glob("*.yaml") if not p.stem.startswith("_"))


def compose_train(overrides: list[str]):
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        return compose(config_name="train", overrides=overrides, return_hydra_config=True)


@pytest.mark.parametrize(
    "override",
    [
        f"{group}={name}"
        for group in ("model", "optim", "vocab", "trainer", "preset", "logger", "decode", "augment")
        for name in options(group)
    ]
    + ["data=demo", "data=soict", "data=broad", "data=corpora", "data.numbers=keep", "experiment=pretrain_base"],
)
def test_every_group_option_composes(override):
    cfg = compose_train([override, "data.manifest=m.jsonl", "data.audio_dir=a"])
    OmegaConf.to_container(cfg.model, resolve=True)
    assert cfg.vocab.strategy in ("corpus", "pretrained", "union", "alphabet")


def changed_keys(before, after, prefix=""):
    """Dotted keys whose values differ between two plain config trees."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        return set() if before == after else {prefix.rstrip(".")}
    keys = before.keys() | after.keys()
    return {k for key in keys for k in changed_keys(before.get(key), after.get(key), f"{prefix}{key}.")}


def plain(overrides: list[str]) -> dict:
    found = OmegaConf.to_container(compose_train(overrides))
    found.pop("run_name")  # named after the start time
    found.pop("hydra", None)  # records the overrides themselves
    return found


def test_trainer_gpu_sets_the_trainer_only_and_preset_gpu_what_it_lists():
    default = plain([])
    assert {key.split(".")[0] for key in changed_keys(default, plain(["trainer=gpu"]))} == {"trainer"}
    preset = changed_keys(default, plain(["preset=gpu"]))
    assert {key.split(".")[0] for key in preset} == {"trainer", "data", "model"}
    listed = (ROOT / "conf" / "preset" / "gpu.yaml").read_text()
    for key in (k for k in preset if not k.startswith("trainer.")):
        assert key.split(".")[-1] in listed, key  # every key the preset changes, named in its file


def test_optim_groups_build_with_the_model_configs_lr_and_warm_up():
    for optim in ("adamw_linear", "tri_stage"):
        cfg = compose_train([f"optim={optim}"])
        assert cfg.model.optimizer.lr == 2e-3 and cfg.model.scheduler.num_warmup_steps == 50
        optimizer = instantiate(cfg.model.optimizer)([torch.nn.Parameter(torch.zeros(1))])
        schedule = instantiate(cfg.model.scheduler)(optimizer=optimizer, num_training_steps=200)
        rates = []
        for _ in range(60):
            rates.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            schedule.step()
        assert max(rates) == pytest.approx(2e-3) and rates.index(max(rates)) == 50  # peak after the warm-up


def test_reference_recipe_numbers():
    cfg = compose_train(["experiment=reference", "preset=gpu", "trainer.devices=2"])
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
    assert cfg.batch_size == 1 and cfg.split == "test" and cfg.decode.lm == "auto" and cfg.device == "auto"
    assert DecodeConfig.from_yaml(cfg.decode).weight_grid is None  # the folder's own weights
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        greedy = compose(config_name="evaluate", overrides=["model_path=x.ckpt", "decode=greedy"])
    assert greedy.decode.lm is None  # decode=greedy turns the LM off in evaluate.py too


def test_pretrain_experiment_wins_over_train_defaults():
    cfg = compose_train(["experiment=pretrain_base"])
    assert cfg.run_name == "pretrain_base" and cfg.data.name == "broad" and cfg.vocab.strategy == "alphabet"
    assert cfg.model.pretrained is None and cfg.trainer.max_steps > 0 and cfg.data.synthesize.text == "broad"
    assert cfg.decode.lm is None  # random word sequences: no language model to learn


def test_default_run_decodes_with_a_tuned_ngram_of_its_training_text():
    decode = compose_train([]).decode
    assert decode.lm == "train" and len(decode.tune.alpha) > 1 and DecodeConfig.from_yaml(decode).weight_grid


def test_slurm_launcher_asks_for_the_trainers_nodes_and_devices():
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        cfg = compose(
            config_name="train",
            overrides=["launcher=slurm", "preset=gpu", "trainer.devices=4", "trainer.num_nodes=2"],
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
    assert (
        compose_train([]).augment == compose_train(["augment=default"]).augment
        and not compose_train(["augment=none"]).augment
    )
    strong = instantiate(compose_train(["augment=strong"]).augment)
    assert (strong.transforms["reverb"].p, default.transforms["reverb"].p) == (0.5, 0.3)  # default, louder and more
    assert strong.transforms["noise"].snr_db == (0.0, 20.0) and len(strong.transforms["noise"].sources) == 3
    assert not instantiate(compose_train(["augment=default", "augment.reverb=null"]).augment).transforms.get("reverb")
    for experiment in ("reference", "pretrain_base"):
        assert not compose_train([f"experiment={experiment}"]).augment


def test_trainer_ddp_trains_in_the_precision_trainer_default_picks(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: True)
    default, ddp = (compose_train([f"trainer={name}"]).trainer for name in ("default", "ddp"))
    assert ddp.precision == default.precision == "bf16-mixed"  # a bf16 GPU, where trainer=cpu would say 32-true
    assert (ddp.strategy, ddp.devices, ddp.accelerator) == ("ddp", 2, "auto")


def test_launcher_slurm_has_lightning_save_before_the_time_limit_and_the_requeued_job_resume():
    cfg = compose_train(["launcher=slurm"])
    launcher = cfg.hydra.launcher
    assert launcher.additional_parameters.signal == "USR1@90"  # the signal Lightning's SLURM environment handles
    assert "export SLURM_KILL_BAD_EXIT=1" in launcher.setup and cfg.ckpt_path == "auto"
