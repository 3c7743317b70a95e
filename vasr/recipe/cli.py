"""``vasr-train`` and ``vasr-evaluate``: the console commands of ``train.py`` and ``evaluate.py``, run as those
scripts (same Hydra job, config groups and ``--help``) from the clone vasr is installed from (``pip install -e .``),
whose ``conf/`` they compose."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(script: str) -> None:
    path = ROOT / script
    if not path.is_file() or not (ROOT / "conf").is_dir():
        sys.exit(f"{path} not found: vasr's commands run the clone's scripts and conf/; install with pip install -e .")
    sys.argv[0] = str(path)
    runpy.run_path(str(path), run_name="__main__")


def train() -> None:
    _run("train.py")


def evaluate() -> None:
    _run("evaluate.py")
