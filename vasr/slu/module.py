"""The LightningModule of the joint model: intent and tag cross-entropy summed, scored by SLU-F1 on validation."""

from __future__ import annotations

import lightning as L
import torch
from transformers import get_linear_schedule_with_warmup

from vasr.slu.data import Example
from vasr.slu.metrics import slu_scores
from vasr.slu.model import IGNORE, JointIntentSlot, NluModel


class NluModule(L.LightningModule):
    """Trains :class:`JointIntentSlot`; each epoch ends with intent accuracy, entity F1 and SLU-F1 on val text."""

    def __init__(
        self,
        network: JointIntentSlot,
        tokenizer,
        val: list[Example],
        lr: float = 1e-3,
        weight_decay: float = 0.01,
        warmup_share: float = 0.1,
    ) -> None:
        super().__init__()
        self.network, self.tokenizer, self.val_examples = network, tokenizer, val
        self.save_hyperparameters(ignore=["network", "tokenizer", "val"])

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        intents, tags = self.network(batch["input_ids"], batch["attention_mask"])
        loss = torch.nn.functional.cross_entropy(intents, batch["intent_labels"])
        loss = loss + torch.nn.functional.cross_entropy(
            tags.flatten(0, 1), batch["tag_labels"].flatten(), ignore_index=IGNORE
        )
        self.log("nlu/train_loss", loss, prog_bar=True, batch_size=len(intents))
        return loss

    def on_train_epoch_end(self) -> None:
        if not self.val_examples:
            return
        predicted = NluModel(self.network, self.tokenizer).predict([" ".join(e.words) for e in self.val_examples])
        self.network.train()
        scores = slu_scores([e.frame for e in self.val_examples], predicted)
        self.log("nlu/val_intent_accuracy", scores["intent_accuracy"], prog_bar=True)
        self.log("nlu/val_entity_f1", scores["entity"]["f1"])
        self.log("nlu/val_slu_f1", scores["slu_f1"], prog_bar=True)

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)
        total = max(1, int(self.trainer.estimated_stepping_batches))
        schedule = get_linear_schedule_with_warmup(optimizer, int(self.hparams.warmup_share * total), total)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}
