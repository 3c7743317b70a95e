"""The LightningModule: Wav2Vec2ForCTC trained with CTC, scored by greedy decoding and jiwer."""

from __future__ import annotations

import logging
import math
from typing import Any

import lightning as L
import torch
import torch.distributed as dist
from transformers import Wav2Vec2CTCTokenizer, Wav2Vec2ForCTC

from vasr.lm.beam import BeamDecoder
from vasr.model.decode import cut_log_probs, greedy_transcripts
from vasr.model.layerdrop import SyncedLayerDrop
from vasr.model.metrics import error_rates

log = logging.getLogger("vasr")


def lr_lambda(schedule: str, warmup_steps: int, total_steps: int):
    """Linear warm-up, then ``linear`` or ``cosine`` decay to zero, or ``constant``."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / max(1, warmup_steps)
        if schedule == "constant":
            return 1.0
        progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        if schedule == "cosine":
            return 0.5 * (1 + math.cos(math.pi * progress))
        if schedule == "linear":
            return 1.0 - progress
        raise ValueError(f"unknown lr schedule {schedule!r}: linear, cosine or constant")

    return factor


class CTCModule(L.LightningModule):
    """Wraps a Wav2Vec2ForCTC; the checkpoint carries its config and vocabulary so it reloads alone."""

    def __init__(
        self,
        model: Wav2Vec2ForCTC,
        tokenizer: Wav2Vec2CTCTokenizer,
        lr: float = 1e-4,
        weight_decay: float = 0.005,
        warmup_steps: int = 1000,
        schedule: str = "linear",
        freeze_feature_encoder: bool = True,
        gradient_checkpointing: bool = False,
        seed: int = 0,
        sample_predictions: int = 8,
    ) -> None:
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.save_hyperparameters(ignore=["model", "tokenizer"])
        if freeze_feature_encoder:
            model.freeze_feature_encoder()
        if gradient_checkpointing:
            model.gradient_checkpointing_enable()
        self.layerdrop = SyncedLayerDrop(model, seed)
        self.skipped_batches = 0
        # Set by the pipeline to also score validation with beam search + n-gram (val/lm_wer).
        self.lm_decoder: BeamDecoder | None = None
        self._rows: list[tuple[str, str, str]] = []
        self._lm_rows: list[tuple[str, str, str]] = []
        self.last_predictions: list[tuple[str, str, str]] = []

    def forward(self, batch: dict) -> Any:
        return self.model(
            input_values=batch["input_values"], attention_mask=batch.get("attention_mask"), labels=batch.get("labels")
        )

    def _skip(self, batch: dict, reason: str) -> None:
        """Count and report a batch that cannot be trained on; the run goes on (single-process runs)."""
        self.skipped_batches += 1
        log.warning("skipped training batch (%s): utterances %s", reason, ", ".join(batch["ids"]))
        self.log("train/skipped_batches", float(self.skipped_batches))

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor | None:
        try:
            with self.layerdrop.skipping(self.global_step, batch_idx) as skipped:
                loss = self(batch).loss
            loss = loss + self.layerdrop.zero_term(skipped)
        except torch.OutOfMemoryError:
            seconds = batch["input_values"].shape[1] / 16000 * len(batch["ids"])
            self._skip(batch, f"out of memory at {seconds:.0f} padded audio seconds; lower data.max_seconds")
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            return None
        if not torch.isfinite(loss):
            self._skip(batch, f"loss is {loss.item()}")
            return None
        seconds = batch["input_lengths"].sum().item() / 16000
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch["ids"]))
        self.log("train/audio_seconds", seconds, reduce_fx="sum", batch_size=1)
        self.log("lr", self.optimizers().param_groups[0]["lr"], prog_bar=False)
        return loss

    def _evaluate(self, batch: dict, stage: str) -> None:
        output = self(batch)
        log_probs = cut_log_probs(self.model, output.logits, batch["input_lengths"])
        hyps = greedy_transcripts(self.tokenizer, log_probs)
        self._rows += list(zip(batch["ids"], batch["texts"], hyps, strict=True))
        if self.lm_decoder is not None and stage == "val":
            lm_hyps = self.lm_decoder.decode(log_probs, progress=False)  # inside Lightning's own progress bar
            self._lm_rows += list(zip(batch["ids"], batch["texts"], lm_hyps, strict=True))
        self.log(f"{stage}/loss", output.loss, sync_dist=True, batch_size=len(batch["ids"]))

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def _gather(self, rows: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
        """Every rank's rows (DDP), so WER covers the whole split once ids are deduplicated."""
        if dist.is_available() and dist.is_initialized() and self.trainer.world_size > 1:
            gathered: list[list] = [None] * self.trainer.world_size  # type: ignore[list-item]
            dist.all_gather_object(gathered, rows)
            rows = [row for part in gathered for row in part]
        return rows

    def _epoch_end(self, stage: str) -> None:
        rows = self._gather(self._rows)
        rates = error_rates(rows)
        self.log(f"{stage}/wer", rates["wer"], prog_bar=True)
        self.log(f"{stage}/cer", rates["cer"], prog_bar=stage == "val")
        self.log(f"{stage}/utterances", float(rates["utterances"]))
        if self.lm_decoder is not None and stage == "val":
            lm_rates = error_rates(self._gather(self._lm_rows))
            self.log(f"{stage}/lm_wer", lm_rates["wer"], prog_bar=True)
            self.log(f"{stage}/lm_cer", lm_rates["cer"])
        self.last_predictions = sorted(set(rows))[: self.hparams.sample_predictions]
        self._rows, self._lm_rows = [], []
        if self.trainer.is_global_zero and not self.trainer.sanity_checking:
            for logger in self.loggers:
                if hasattr(logger, "log_table"):  # W&B: a table of sample predictions per validation
                    logger.log_table(f"{stage}/predictions", ["id", "reference", "hypothesis"], self.last_predictions)

    def on_validation_epoch_end(self) -> None:
        self._epoch_end("val")

    def on_test_epoch_end(self) -> None:
        self._epoch_end("test")

    def configure_optimizers(self):
        params = [p for p in self.model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)
        total = int(self.trainer.estimated_stepping_batches)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lr_lambda(self.hparams.schedule, self.hparams.warmup_steps, total)
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    def on_before_optimizer_step(self, optimizer) -> None:
        self.layerdrop.clear_unused_grads()

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["vasr"] = {"config": self.model.config.to_dict(), "vocab": self.tokenizer.get_vocab()}
