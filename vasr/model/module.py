"""The LightningModule: a CTC model of any family (:mod:`vasr.model.family`) trained with CTC, scored by its own
decoding and jiwer."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import lightning as L
import numpy as np
import torch
import torch.distributed as dist
from transformers import PreTrainedModel, Wav2Vec2CTCTokenizer
from transformers.feature_extraction_utils import FeatureExtractionMixin

from vasr.audio import SAMPLE_RATE
from vasr.data.features import AudioFeatures
from vasr.decoding.ctc import CTCDecoding, cut_log_probs
from vasr.decoding.metrics import error_rates, rates_by_group
from vasr.model.adapters import adapter_language
from vasr.model.family import family_of
from vasr.model.freezing import HeadOnly
from vasr.model.layerdrop import SyncedLayerDrop, zero_weighted
from vasr.model.lora import peft_settings

log = logging.getLogger("vasr")

DROPOUT_STREAM = 1  # in the seed of each batch's draws: not the stream LayerDrop draws from (seed, step, batch)
OptimizerFactory = Callable[..., torch.optim.Optimizer]
SchedulerFactory = Callable[..., torch.optim.lr_scheduler.LRScheduler]


class CTCModule(L.LightningModule):
    """Wraps a ``*ForCTC`` model; the checkpoint carries its config, vocabulary and feature extractor so it reloads
    alone. ``extractor`` is the checkpoint's own (None: its family's default), whose input the batches carry.

    ``optimizer`` and ``scheduler`` are factories (``conf/optim``'s ``_partial_`` configs): the optimizer
    takes the trainable parameters, the scheduler the optimizer and the run's step total. A module made
    only to score or export has none.
    ``check_finite_loss`` skips (and counts) a batch whose loss is NaN or infinite; the check is the
    step's one wait for the GPU.

    Fine-tuning levers (fairseq's and SpeechBrain's): ``freeze_transformer_steps`` trains only the CTC
    head for the first N optimizer steps (``freeze_finetune_updates``), ``head_lr`` gives the head its own
    learning rate (``lr_wav2vec`` is the optimizer's, for the rest).
    """

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: Wav2Vec2CTCTokenizer,
        optimizer: OptimizerFactory | None = None,
        scheduler: SchedulerFactory | None = None,
        freeze_feature_encoder: bool = True,
        gradient_checkpointing: bool = False,
        decoding: CTCDecoding | None = None,
        seed: int = 0,
        sample_predictions: int = 8,
        check_finite_loss: bool = True,
        freeze_transformer_steps: int = 0,
        head_lr: float | None = None,
        extractor: FeatureExtractionMixin | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.save_hyperparameters(ignore=["model", "tokenizer", "extractor", "optimizer", "scheduler", "decoding"])
        self.family = family_of(model.config)
        self.extractor = extractor or self.family.default_extractor()
        if freeze_feature_encoder and self.family.has_feature_encoder(model):
            model.freeze_feature_encoder()
        if gradient_checkpointing:  # transformers 5.2x renamed it; older releases have only the first name
            getattr(model, "activation_checkpointing_enable", model.gradient_checkpointing_enable)()
        self.layerdrop = SyncedLayerDrop(model, seed)
        self.head_only = HeadOnly(model)
        self.decoding = decoding or CTCDecoding(tokenizer)
        self.skipped_batches = 0
        self._rows: list[tuple[str, str, str]] = []
        self._lm_rows: list[tuple[str, str, str]] = []
        self._blank_frames = torch.zeros(2)  # (blank frames, frames) of this rank's evaluation so far
        self.kept_head_rows: int | None = None  # vocabulary tokens whose CTC head rows came from the pretrained head
        self.last_predictions: list[tuple[str, str, str]] = []
        self.groups: dict[str, str] = {}  # utterance id -> its corpus: validation scores each corpus too

    def score_groups(self, groups: dict[str, str]) -> None:
        """Validation logs ``val/<group>/wer`` (and cer, lm_wer, lm_cer) per group of utterance ids from now on,
        beside the overall ``val/wer`` (several corpora: one group each)."""
        self.groups = groups

    def change_decoding(self, decoding: CTCDecoding) -> None:
        """Validation and test decode with ``decoding`` from now on (e.g. once an n-gram is built)."""
        self.decoding = decoding

    @property
    def features(self) -> AudioFeatures:
        """What the data loaders make of each batch's waveforms: this model's input, with its extractor's settings."""
        return self.family.features(self.extractor)

    def forward(self, batch: dict) -> Any:
        name = self.family.input_name
        return self.model(**{name: batch[name]}, attention_mask=batch.get("attention_mask"), labels=batch.get("labels"))

    def _skip(self, batch: dict, reason: str) -> torch.Tensor | None:
        """Count and report a batch that cannot be trained on; the run goes on.

        A single process just skips the step. Under DDP every rank must join the gradient reduction
        or the others wait forever, so this rank contributes a zero loss over every trainable weight.
        """
        self.skipped_batches += 1
        log.warning("skipped training batch (%s): utterances %s", reason, ", ".join(batch["ids"]))
        self.log("train/skipped_batches", float(self.skipped_batches))
        return self.zero_loss() if self.trainer.world_size > 1 else None

    def zero_loss(self) -> torch.Tensor:
        """0 x every trainable weight: a loss whose gradients are all exactly zero."""
        return zero_weighted(self.model.parameters())

    @property
    def transformer_frozen(self) -> bool:
        """Whether this optimizer step trains the CTC head alone."""
        return self.global_step < self.hparams.freeze_transformer_steps

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor | None:
        try:
            with (
                self.layerdrop.skipping(self.global_step, batch_idx) as skipped,
                self.head_only(self.transformer_frozen),
            ):
                loss = self(batch).loss
            loss = loss + self.layerdrop.zero_term(skipped)
            if self.transformer_frozen and self.trainer.world_size > 1:
                loss = loss + self.head_only.zero_term()
        except torch.OutOfMemoryError:
            seconds = int(batch["input_lengths"].max()) / SAMPLE_RATE * len(batch["ids"])
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            return self._skip(
                batch, f"out of memory at {seconds:.0f} padded audio seconds; lower data.loader.max_seconds"
            )
        if self.hparams.check_finite_loss and not torch.isfinite(loss):
            return self._skip(batch, f"loss is {loss.item()}")
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch["ids"]))
        self.log("lr", self.optimizers().param_groups[0]["lr"], prog_bar=False)
        return loss

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        output = self(batch)
        log_probs = cut_log_probs(output.logits, [self.family.frames(int(n)) for n in batch["input_lengths"]])
        blank = self.tokenizer.pad_token_id
        self._blank_frames += torch.tensor(
            [sum(int((row.argmax(-1) == blank).sum()) for row in log_probs), sum(len(row) for row in log_probs)]
        )
        self._rows += list(zip(batch["ids"], batch["texts"], self.decoding.greedy(log_probs), strict=True))
        if (lm_hyps := self.decoding.with_lm(log_probs, progress=False)) is not None:
            self._lm_rows += list(zip(batch["ids"], batch["texts"], lm_hyps, strict=True))
        self.log("val/loss", output.loss, sync_dist=True, batch_size=len(batch["ids"]))

    def _gather(self, rows: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
        """Every rank's rows (DDP), so WER covers the whole split once ids are deduplicated."""
        if dist.is_available() and dist.is_initialized() and self.trainer.world_size > 1:
            gathered: list[list] = [None] * self.trainer.world_size  # type: ignore[list-item]
            dist.all_gather_object(gathered, rows)
            rows = [row for part in gathered for row in part]
        return rows

    def _epoch_end(self) -> None:
        rows = self._gather(self._rows)
        rates = error_rates(rows)
        self.log("val/wer", rates["wer"], prog_bar=True)
        self.log("val/cer", rates["cer"], prog_bar=True)
        self.log("val/utterances", float(rates["utterances"]))
        blanks, frames = self.all_gather(self._blank_frames.to(self.device)).reshape(-1, 2).sum(0).tolist()
        self.log("val/blank_frames", blanks / max(frames, 1))  # shares the blank-plateau diagnosis reads
        hypotheses = {row[0]: row[2] for row in rows}
        self.log("val/empty_hypotheses", sum(not h.strip() for h in hypotheses.values()) / max(len(hypotheses), 1))
        scored = {"": rows}
        if self.decoding.beam is not None:
            scored["lm_"] = self._gather(self._lm_rows)
            lm_rates = error_rates(scored["lm_"])
            self.log("val/lm_wer", lm_rates["wer"], prog_bar=True)
            self.log("val/lm_cer", lm_rates["cer"])
        for prefix, scored_rows in scored.items():
            for group, found in rates_by_group(scored_rows, self.groups).items():
                self.log(f"val/{group}/{prefix}wer", found["wer"])
                self.log(f"val/{group}/{prefix}cer", found["cer"])
        self.last_predictions = sorted(set(rows))[: self.hparams.sample_predictions]
        self._rows, self._lm_rows, self._blank_frames = [], [], torch.zeros(2)
        if self.trainer.is_global_zero and not self.trainer.sanity_checking:
            for logger in self.loggers:
                if hasattr(logger, "log_table"):  # W&B: a table of sample predictions per validation
                    logger.log_table("val/predictions", ["id", "reference", "hypothesis"], self.last_predictions)

    def on_validation_epoch_end(self) -> None:
        self._epoch_end()

    def configure_optimizers(self):
        if self.optimizer_factory is None or self.scheduler_factory is None:
            raise ValueError("CTCModule was made without an optimizer and schedule to train with (conf/optim)")
        head = [p for p in self.model.lm_head.parameters() if p.requires_grad]  # LoRA keeps a frozen original
        body = [p for p in self.model.parameters() if p.requires_grad and all(p is not h for h in head)]
        if self.hparams.head_lr is None:
            optimizer = self.optimizer_factory(body + head)
        else:
            optimizer = self.optimizer_factory([{"params": body}, {"params": head, "lr": self.hparams.head_lr}])
        total = int(self.trainer.estimated_stepping_batches)
        schedule = self.scheduler_factory(optimizer=optimizer, num_training_steps=total)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    def configure_gradient_clipping(
        self,
        optimizer: torch.optim.Optimizer,
        gradient_clip_val: float | None = None,
        gradient_clip_algorithm: str | None = None,
    ) -> None:
        """Lightning's clipping, also for optimizers that unscale in their own step (fused AdamW, ``preset=gpu``).

        Lightning's mixed-precision plugin refuses to clip those; here fp16's still-scaled gradients are
        clipped at the threshold times the loss scale, which is clipping the unscaled ones (bf16 has no scale).
        """
        if not gradient_clip_val or not unscales_in_step(optimizer):
            super().configure_gradient_clipping(optimizer, gradient_clip_val, gradient_clip_algorithm)
            return
        plugin = self.trainer.precision_plugin
        scaler = getattr(plugin, "scaler", None)
        limit = gradient_clip_val * (scaler.get_scale() if scaler is not None else 1.0)
        if gradient_clip_algorithm == "value":
            plugin.clip_grad_by_value(optimizer, limit)
        else:
            plugin.clip_grad_by_norm(optimizer, limit)

    def on_train_batch_start(self, batch: dict, batch_idx: int) -> None:
        """Dropout's and SpecAugment's draws made from (seed, step, batch): no checkpoint (vasr's or Lightning's)
        holds the processes' random streams, so this is how a resumed run draws what the uninterrupted one did."""
        seed = hash((self.hparams.seed, self.global_step, batch_idx, DROPOUT_STREAM)) & 0x7FFF_FFFF
        torch.manual_seed(seed)
        np.random.seed(seed)  # transformers draws SpecAugment's masks from numpy's global stream

    def on_before_optimizer_step(self, optimizer) -> None:
        self.layerdrop.clear_unused_grads()
        if self.transformer_frozen:
            self.head_only.clear_grads()

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["vasr"] = {
            "config": self.model.config.to_dict(),
            "vocab": self.tokenizer.get_vocab(),
            "feature_extractor": self.extractor.to_dict(),
            "peft": peft_settings(self.model),  # LoRA: the wrapper to rebuild before loading the state
            "target_lang": adapter_language(self.model),  # MMS adapters: the language they were trained for
        }


def unscales_in_step(optimizer: torch.optim.Optimizer) -> bool:
    """Whether ``optimizer`` unscales fp16 gradients in its own step (torch's fused Adam, AdamW and SGD).

    torch marks those with the private ``_step_supports_amp_scaling``; the mark is the contract between torch's
    ``GradScaler`` (which hands them the scale instead of unscaling first) and Lightning (which refuses to clip them),
    and no public API says it. Read here alone; ``tests/model/test_module.py`` fails when torch drops it.
    """
    return bool(getattr(optimizer, "_step_supports_amp_scaling", False))
