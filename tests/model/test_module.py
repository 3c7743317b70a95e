import lightning as L
import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from lightning.pytorch.plugins import MixedPrecision

from tests.conftest import MICRO_ARCHITECTURE, ROOT, optim_factories
from vasr.data.datamodule import SpeechDataModule
from vasr.data.splits import load_splits
from vasr.decoding.metrics import error_rates
from vasr.model.build import build_from_config
from vasr.model.module import CTCModule, unscales_in_step
from vasr.text.vocab import PAD, build_vocab, make_tokenizer, save_vocab


def make(corpus, tmp_path, freeze=False):
    splits, _ = load_splits(corpus / "manifest.jsonl", corpus / "audio", val_ratio=0.25, test_ratio=0.25)
    vocab = build_vocab("corpus", (i.text for i in splits["train"]))
    tokenizer = make_tokenizer(save_vocab(vocab, tmp_path))
    model = build_from_config(MICRO_ARCHITECTURE, vocab, PAD)
    module = CTCModule(model, tokenizer, **optim_factories(), freeze_feature_encoder=freeze)
    return module, SpeechDataModule(splits, tokenizer, batch_size=4, eval_batch_size=4)


def quiet_trainer(tmp_path, **options) -> L.Trainer:
    return L.Trainer(
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        use_distributed_sampler=False,
        default_root_dir=tmp_path,
        **options,
    )


def test_fit_steps_log_loss_and_wer_over_whole_val_set(corpus, tmp_path):
    module, dm = make(corpus, tmp_path)
    trainer = quiet_trainer(tmp_path, max_steps=3, val_check_interval=3)
    before = module.model.lm_head.weight.detach().clone()
    trainer.fit(module, dm)
    assert not torch.equal(before, module.model.lm_head.weight)
    metrics = trainer.callback_metrics
    assert torch.isfinite(metrics["train/loss"]) and metrics["val/wer"] >= 0 and metrics["val/utterances"] == 6


def test_validation_scores_each_group_of_utterances_beside_the_whole(corpus, tmp_path):
    module, dm = make(corpus, tmp_path)
    ids = [item.id for item in dm.datasets["val"].items]
    module.score_groups({uid: "vivos" if n % 3 else "cv" for n, uid in enumerate(ids)})
    metrics = quiet_trainer(tmp_path).validate(module, dm, verbose=False)[0]
    rows = module.last_predictions  # all 6 validation utterances: (id, reference, hypothesis)
    assert len(rows) == 6 and metrics["val/wer"] == pytest.approx(error_rates(rows)["wer"])
    for name in ("vivos", "cv"):
        group = [row for row in rows if module.groups[row[0]] == name]
        assert metrics[f"val/{name}/wer"] == pytest.approx(error_rates(group)["wer"])
        assert metrics[f"val/{name}/cer"] == pytest.approx(error_rates(group)["cer"])
    assert metrics["val/vivos/cer"] != metrics["val/cv/cer"]  # each over its own rows (an untrained WER is 1 in all)


def test_frozen_feature_encoder_does_not_move(corpus, tmp_path):
    module, dm = make(corpus, tmp_path, freeze=True)
    encoder = module.model.wav2vec2.feature_extractor
    before = [p.detach().clone() for p in encoder.parameters()]
    trainer = quiet_trainer(tmp_path, max_steps=2, limit_val_batches=0)
    trainer.fit(module, dm)
    assert all(torch.equal(a, b) for a, b in zip(before, encoder.parameters(), strict=True))


def test_error_rates_deduplicate_ids_across_ranks():
    rows = [("1", "bật đèn", "bật đèn"), ("2", "tắt quạt", "tắt"), ("2", "tắt quạt", "tắt")]
    rates = error_rates(rows)
    assert rates["utterances"] == 2 and rates["wer"] == 0.25


def lr_factors(overrides: list[str], steps: list[int]) -> list[float]:
    """The learning-rate factor at ``steps`` of the schedule ``conf/model`` makes (110 steps in all)."""
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        model = compose(config_name="train", overrides=overrides).model
    optimizer = instantiate(model.optimizer)([torch.nn.Parameter(torch.zeros(1))])
    schedule = instantiate(model.scheduler)(optimizer=optimizer, num_training_steps=110)
    factors = []
    for step in range(max(steps) + 1):
        if step in steps:
            factors.append(schedule.get_last_lr()[0] / model.optimizer.lr)
        optimizer.step()
        schedule.step()
    return factors


def test_lr_schedule_from_config_warms_up_then_decays():
    warm = ["model.scheduler.num_warmup_steps=10"]
    assert lr_factors(warm, [0, 5, 10, 60, 110]) == pytest.approx([0.0, 0.5, 1.0, 0.5, 0.0])
    assert lr_factors([*warm, "model.scheduler.name=constant_with_warmup"], [100]) == [1.0]


def test_nan_and_out_of_memory_batches_are_skipped_and_reported(corpus, tmp_path, caplog):
    module, dm = make(corpus, tmp_path)
    forward = module.model.forward
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise torch.OutOfMemoryError("CUDA out of memory")
        output = forward(*args, **kwargs)
        if calls["n"] == 2:
            output.loss = output.loss * float("nan")
        return output

    module.model.forward = flaky
    trainer = quiet_trainer(tmp_path, max_steps=2, limit_val_batches=0)
    with caplog.at_level("WARNING", logger="vasr"):
        trainer.fit(module, dm)
    assert module.skipped_batches == 2
    assert "out of memory" in caplog.text and "loss is nan" in caplog.text
    first_ids = [r.getMessage() for r in caplog.records if "out of memory" in r.getMessage()][0]
    assert any(item.id in first_ids for item in dm.datasets["train"].items)
    assert trainer.global_step == 2  # the run went on past both


def test_zero_loss_reaches_every_trainable_weight_with_zero_gradient(corpus, tmp_path):
    """What a DDP rank contributes for a batch it skips, so the other ranks' reduction completes."""
    module, _ = make(corpus, tmp_path, freeze=True)
    module.zero_loss().backward()
    trainable = [p for p in module.model.parameters() if p.requires_grad]
    assert trainable and all(p.grad is not None and not p.grad.any() for p in trainable)


class NormRecordingAdamW(torch.optim.AdamW):
    """Fused AdamW (unscales in its own step) that records the gradient norm each step is given."""

    def __init__(self, params, **options) -> None:
        super().__init__(params, lr=1e-3, fused=True, **options)
        self.norms: list[float] = []

    def step(self, closure=None):
        loss = closure() if closure is not None else None  # backward, then Lightning's clipping hook
        grads = [p.grad for group in self.param_groups for p in group["params"] if p.grad is not None]
        self.norms.append(float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))))
        super().step()
        return loss


def test_torch_still_marks_the_optimizers_that_unscale_in_their_own_step():
    """The mark vasr's clipping (and torch's GradScaler, and Lightning's refusal to clip) reads."""
    weights = [torch.nn.Parameter(torch.zeros(3))]
    assert unscales_in_step(torch.optim.AdamW(weights, fused=True)), (
        f"torch {torch.__version__}: a fused AdamW no longer has _step_supports_amp_scaling = True; "
        "vasr.model.module.unscales_in_step must read what torch marks it with now"
    )
    assert not unscales_in_step(torch.optim.AdamW(weights)) and not unscales_in_step(torch.optim.SGD(weights, lr=0.1))


@pytest.mark.parametrize("precision", ["bf16-mixed", "16-mixed"])
def test_fused_adamw_gradients_are_clipped_under_mixed_precision(corpus, tmp_path, precision):
    """preset=gpu's fused AdamW with gradient_clip_val: Lightning alone raises here; vasr clips.
    fp16 runs with a loss scaler, as on a GPU, so the gradients the optimizer sees are still scaled."""
    norms = {}
    for clip in (None, 0.01):
        module, dm = make(corpus, tmp_path)
        optimizers = []
        module.optimizer_factory = lambda params, made=optimizers: made.append(NormRecordingAdamW(params)) or made[-1]
        scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10) if precision == "16-mixed" else None
        plugin = MixedPrecision(precision, "cpu", scaler)
        trainer = quiet_trainer(tmp_path, max_steps=3, limit_val_batches=0, plugins=[plugin], gradient_clip_val=clip)
        trainer.fit(module, dm)
        norms[clip] = [norm / (scaler.get_scale() if scaler else 1.0) for norm in optimizers[0].norms]
    assert len(norms[0.01]) == 3 and min(norms[None]) > 0.1  # unclipped, the gradients are far larger
    assert max(norms[0.01]) <= 0.01 * 1.001


def test_a_training_batch_draws_dropout_and_masks_from_seed_and_step_alone(corpus, tmp_path):
    """What makes a resumed run's dropout and SpecAugment masks those of the run that was never interrupted:
    the draws do not depend on what the process drew before."""
    module, _ = make(corpus, tmp_path)

    def draws(batch_idx: int) -> tuple[torch.Tensor, np.ndarray]:
        module.on_train_batch_start({}, batch_idx)
        return torch.rand(4), np.random.rand(2)

    first = draws(0)
    torch.rand(100), np.random.rand(100)  # a resumed process has drawn other things before
    again = draws(0)
    assert torch.equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    assert not torch.equal(draws(1)[0], first[0])
