"""What vasr's commands print: their own lines, once, and none of the libraries' noise."""

from __future__ import annotations

import logging
import warnings

# Library lines that tell a vasr user nothing, by logger: Lightning's advertisement for its cloud logger, torch's
# ONNX exporter skipping torchvision operators a speech model never has.
NOISE = {
    "lightning.pytorch.utilities.rank_zero": ("litlogger",),
    "torch.onnx._internal.exporter._registration": ("torchvision is not installed",),
}
# A deprecation inside Lightning's and torch's own pytree helpers, and ModelCheckpoint's complaint in a run shorter
# than one validation (the run says that itself: vasr.recipe.training.best_checkpoint).
NOISY_WARNINGS = (
    r".*isinstance\(treespec, LeafSpec\)",
    r"`ModelCheckpoint\(monitor=.*could not find the monitored key",
)


class DropMessages(logging.Filter):
    """Drops the records whose message holds one of ``parts``."""

    def __init__(self, parts: tuple[str, ...]) -> None:
        super().__init__()
        self.parts = parts

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(part in message for part in self.parts)


def quiet_libraries() -> None:
    """``NOISE`` and ``NOISY_WARNINGS`` dropped, and transformers' weight-loading and shard-writing progress bars."""
    import transformers

    for name, parts in NOISE.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, DropMessages) for f in logger.filters):
            logger.addFilter(DropMessages(parts))
    for pattern in NOISY_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)
    transformers.utils.logging.disable_progress_bar()
