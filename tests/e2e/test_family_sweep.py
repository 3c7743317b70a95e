"""A sweep across encoder families (``train.py -m model=A,B,C``), each job with its own config's recipe, and
vasr-compare setting the runs side by side."""

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from tests.e2e.test_train import corpus_args, run
from tests.families import save_tiny_checkpoint
from vasr.tools.compare import main as compare

pytestmark = pytest.mark.slow
# Test-only model configs: each real config (its recipe: optimizer, warm-up, overrides) over a local tiny checkpoint.
MODELS = {
    "tiny_w2v_bert": ("w2v_bert", "wav2vec2-bert"),
    "tiny_mms": ("mms", "mms"),
    "tiny_wav2vec2": ("nguyenvulebinh", "wav2vec2"),
}


def model_configs(folder: Path) -> Path:
    """A config dir whose ``model/`` group extends the real configs with a tiny checkpoint saved here."""
    (folder / "model").mkdir(parents=True)
    for name, (real, family) in MODELS.items():
        checkpoint = save_tiny_checkpoint(family, folder / "checkpoints" / name)
        config = {"defaults": [real, "_self_"], "name": name, "pretrained": str(checkpoint)}
        (folder / "model" / f"{name}.yaml").write_text(OmegaConf.to_yaml(config), encoding="utf-8")
    return folder


def test_a_sweep_across_families_trains_each_with_its_recipe_and_compares_them(corpus, tmp_path, capsys):
    sweep = tmp_path / "sweep"
    run(
        "train.py",
        "--config-dir",
        str(model_configs(tmp_path / "conf")),
        "-m",
        f"model={','.join(MODELS)}",
        "logger=csv",
        "~nlu",
        "decode=greedy",
        *corpus_args(corpus),
        f"hydra.sweep.dir={sweep}",
        "trainer.max_steps=2",
        "trainer.val_check_interval=2",
        "data.loader.max_seconds=20",
        "test_before_fit=false",
        "test_after_fit=false",
        timeout=900,
    )
    recipes = {}
    for name, (real, _) in MODELS.items():
        (folder,) = sweep.glob(f"*-{name}*")
        used = OmegaConf.load(folder / "config.yaml").model
        shipped = OmegaConf.load(Path(__file__).parents[2] / "conf" / "model" / f"{real}.yaml")
        assert used.optimizer.lr == shipped.optimizer.lr  # each job its own config's learning rate
        recipes[name] = used
    assert list(recipes["tiny_w2v_bert"].optimizer.betas) == [0.9, 0.98] and recipes["tiny_mms"].target_lang == "vie"
    compare([str(sweep)])
    table = capsys.readouterr().out
    header, _, *lines = table.splitlines()[:5]
    columns = [c.strip() for c in header.strip("|").split("|")]
    assert {"family", "parameters", "trained_parameters", "peak_ram_mb", "val/wer"} <= set(columns)
    rows = {
        cells[columns.index("run")]: cells
        for cells in ([c.strip() for c in line.strip("|").split("|")] for line in lines)
    }
    by_model = {name: next(cells for run_name, cells in rows.items() if name in run_name) for name in MODELS}
    assert {name: cells[columns.index("family")] for name, cells in by_model.items()} == {
        "tiny_w2v_bert": "wav2vec2-bert",
        "tiny_mms": "wav2vec2",
        "tiny_wav2vec2": "wav2vec2",
    }

    def count(name: str, column: str) -> int:
        return int(by_model[name][columns.index(column)].replace(",", ""))

    assert count("tiny_mms", "trained_parameters") < count("tiny_mms", "parameters")  # adapters and head only
    assert count("tiny_w2v_bert", "trained_parameters") == count("tiny_w2v_bert", "parameters")  # no encoder to freeze
    assert all(float(cells[columns.index("peak_ram_mb")]) > 0 for cells in by_model.values())
    assert all(cells[-1] == "done" for cells in by_model.values())
