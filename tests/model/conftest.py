"""Fixtures of the model tests: a small checkpoint of each CTC encoder family, saved once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.families import TINY, save_tiny_checkpoint


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory) -> dict[str, Path]:
    """Each family of :data:`tests.families.TINY` saved as a hub folder, by family name."""
    root = tmp_path_factory.mktemp("families")
    return {family: save_tiny_checkpoint(family, root / family) for family in TINY}
