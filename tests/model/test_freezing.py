from functools import partial

import lightning as L
import torch
from transformers import get_scheduler

from tests.model.test_module import make, quiet_trainer


class Snapshots(L.Callback):
    """The encoder's and the head's weights after every optimizer step."""

    def __init__(self) -> None:
        self.steps: list[tuple[int, torch.Tensor, torch.Tensor]] = []

    @staticmethod
    def flat(module) -> torch.Tensor:
        return torch.cat([p.detach().flatten() for p in module.parameters()]).clone()

    def on_train_batch_end(self, trainer, module, *args) -> None:
        self.steps.append((trainer.global_step, self.flat(module.model.wav2vec2), self.flat(module.model.lm_head)))


def test_the_first_steps_train_only_the_head_then_everything(corpus, tmp_path):
    module, dm = make(corpus, tmp_path)
    module.hparams.freeze_transformer_steps = 3
    module.optimizer_factory = partial(torch.optim.AdamW, lr=1e-3, weight_decay=0.1)  # decay would move them too
    module.scheduler_factory = partial(get_scheduler, "constant")
    encoder, head = Snapshots.flat(module.model.wav2vec2), Snapshots.flat(module.model.lm_head)
    record = Snapshots()
    quiet_trainer(tmp_path, max_steps=6, limit_val_batches=0, callbacks=[record]).fit(module, dm)
    for step, now_encoder, now_head in record.steps:
        assert torch.equal(now_encoder, encoder) == (step <= 3), step
        assert not torch.equal(now_head, head)
        head = now_head
    assert [s for s, *_ in record.steps] == [1, 2, 3, 4, 5, 6]


def test_the_head_gets_its_own_learning_rate(corpus, tmp_path):
    module, dm = make(corpus, tmp_path)
    module.hparams.head_lr = 5e-2
    trainer = quiet_trainer(tmp_path, max_steps=1, limit_val_batches=0)
    trainer.fit(module, dm)
    groups = trainer.optimizers[0].param_groups
    assert [g["initial_lr"] for g in groups] == [1e-3, 5e-2]
    assert {id(p) for p in groups[1]["params"]} == {id(p) for p in module.model.lm_head.parameters()}
    trainable = {id(p) for p in module.model.parameters() if p.requires_grad}
    assert {id(p) for g in groups for p in g["params"]} == trainable
