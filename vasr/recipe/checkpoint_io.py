"""Checkpoints written beside their path and renamed over it, so that a kill while saving leaves the previous one.

Lightning's :class:`TorchCheckpointIO` serialises to memory and then writes the file in place: a kill -9, an out of
memory or a node lost in the middle of a write leaves a torn ``last.ckpt``, best checkpoint or ``hpc_ckpt_N.ckpt``
that the next resume cannot read. Every checkpoint a run writes goes through this one (a Trainer plugin).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lightning.pytorch.plugins.io import TorchCheckpointIO


class AtomicCheckpointIO(TorchCheckpointIO):
    """``path`` written as ``path.partial`` in the same folder (the same file system), then renamed onto ``path``."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None) -> None:
        if "://" in str(path):  # a remote store (fsspec): its own write semantics, no rename
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        path = Path(path)
        partial = path.with_name(path.name + ".partial")
        super().save_checkpoint(checkpoint, partial, storage_options)
        os.replace(partial, path)
