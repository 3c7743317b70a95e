import pytest
import torch
from safetensors import safe_open
from transformers import (
    HubertConfig,
    HubertForCTC,
    Wav2Vec2BertConfig,
    Wav2Vec2ForCTC,
    WavLMConfig,
    WavLMForCTC,
    WhisperConfig,
)

from tests.conftest import MICRO_ARCHITECTURE, optim_factories
from tests.model.test_module import make, quiet_trainer
from vasr.model.build import build_from_config, build_module
from vasr.model.export import export_folder, load_checkpoint
from vasr.model.family import UnsupportedCheckpoint
from vasr.model.lora import add_lora, target_modules, with_peft
from vasr.text.vocab import PAD, build_vocab

LORA = {"method": "lora", "rank": 4, "alpha": 8, "dropout": 0.0}


def lora_module(vocab, **options):
    torch.manual_seed(0)  # the same initial weights each time
    return build_module(
        vocab=vocab,
        name="micro",
        pretrained=None,
        architecture=MICRO_ARCHITECTURE,
        overrides=None,
        **optim_factories(),
        peft=LORA,
        **options,
    )


def test_targets_come_from_the_family_and_an_unknown_family_is_refused():
    with pytest.raises(UnsupportedCheckpoint, match="wav2vec2-bert"):
        target_modules(WhisperConfig())
    assert target_modules(HubertConfig(), feed_forward=True) == [
        *("q_proj", "k_proj", "v_proj", "out_proj"),
        *("intermediate_dense", "output_dense"),
    ]


def test_wavlm_lora_targets_modules_that_run_and_every_lora_weight_gets_a_gradient():
    with pytest.raises(ValueError, match="feed_forward=true"):
        target_modules(WavLMConfig())
    vocab = build_vocab("corpus", ["ab c"])
    config = WavLMConfig(**MICRO_ARCHITECTURE, layerdrop=0.0, vocab_size=len(vocab), pad_token_id=vocab[PAD])
    model = with_peft(WavLMForCTC(config), {**LORA, "feed_forward": True})
    model(torch.randn(1, 4000)).logits.sum().backward()
    lora_b = [p for name, p in model.named_parameters() if "lora_B" in name]
    assert lora_b and all(p.grad is not None for p in lora_b)
    assert target_modules(Wav2Vec2BertConfig()) == ["linear_q", "linear_k", "linear_v", "linear_out"]


def test_only_lora_and_the_head_train_in_any_family():
    vocab = build_vocab("corpus", ["ab c"])
    config = HubertConfig(**MICRO_ARCHITECTURE, vocab_size=len(vocab), pad_token_id=vocab[PAD])
    model = with_peft(HubertForCTC(config), LORA)
    trained = [name for name, p in model.named_parameters() if p.requires_grad]
    assert trained and all("lora_" in name or "lm_head.modules_to_save" in name for name in trained)
    assert any("q_proj.lora_A" in name for name in trained) and any("lm_head" in name for name in trained)
    with pytest.raises(ValueError, match="method"):
        with_peft(HubertForCTC(config), {"method": "prefix"})


def test_explicit_targets_serve_an_unlisted_family():
    vocab = build_vocab("corpus", ["ab c"])
    model = build_from_config(MICRO_ARCHITECTURE, vocab, PAD)
    model.config.model_type = "my-encoder"
    wrapped = add_lora(model, targets=["out_proj"])
    assert {n.split(".")[-4] for n, p in wrapped.named_parameters() if "lora_A" in n} == {"out_proj"}


def test_gradient_checkpointing_with_frozen_inputs_reaches_lora_weights(corpus, tmp_path):
    plain, dm = make(corpus, tmp_path)
    module = lora_module(plain.tokenizer.get_vocab(), gradient_checkpointing=True, freeze_feature_encoder=True)
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    module.model.train()
    module(batch).loss.backward()
    grads = {n: p.grad for n, p in module.model.named_parameters() if "lora_B" in n}  # lora_A's: 0 while B is 0
    assert grads and all(g is not None and g.abs().sum() > 0 for g in grads.values())


def state_of(module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in module.model.state_dict().items()}


def test_resume_restores_lora_weights_and_optimizer_state(corpus, tmp_path):
    def fit(module, steps, ckpt_path=None):  # each fit with its own data module: samplers keep their epoch
        trainer = quiet_trainer(tmp_path, max_steps=steps, limit_val_batches=0)
        trainer.fit(module, make(corpus, tmp_path)[1], ckpt_path=ckpt_path)
        return trainer

    vocab = make(corpus, tmp_path)[0].tokenizer.get_vocab()
    first, resumed = lora_module(vocab), lora_module(vocab)
    saved = fit(first, 3)
    saved.save_checkpoint(tmp_path / "half.ckpt")
    restored = fit(resumed, 3, tmp_path / "half.ckpt")  # restores, then stops: max_steps is reached
    expected, got = state_of(first), state_of(resumed)
    assert any("lora_B" in k for k in got) and expected.keys() == got.keys()
    assert all(torch.equal(expected[k], got[k]) for k in expected)
    moments = [s["exp_avg"] for s in restored.optimizers[0].state_dict()["state"].values()]
    before = [s["exp_avg"] for s in saved.optimizers[0].state_dict()["state"].values()]
    assert moments and all(torch.equal(a, b) for a, b in zip(before, moments, strict=True))
    trained = sum(p.numel() for p in resumed.model.parameters() if p.requires_grad)
    assert sum(m.numel() for m in moments) == trained  # the optimizer holds the LoRA weights and the head only


def test_export_is_merged_plain_model_with_the_same_logits(corpus, tmp_path):
    plain, dm = make(corpus, tmp_path)
    module = lora_module(plain.tokenizer.get_vocab())
    trainer = quiet_trainer(tmp_path, max_steps=3, limit_val_batches=0)
    trainer.fit(module, dm)
    trainer.save_checkpoint(tmp_path / "lora.ckpt")
    model, tokenizer = load_checkpoint(tmp_path / "lora.ckpt")
    folder = export_folder(model, tokenizer, tmp_path / "export")
    with safe_open(str(folder / "model.safetensors"), "pt") as weights:
        keys = list(weights.keys())
    assert keys and not any("lora_" in k or "base_model.model" in k or "modules_to_save" in k for k in keys)
    exported = Wav2Vec2ForCTC.from_pretrained(folder).eval()
    audio = torch.randn(2, 16000, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = module.model.eval()(input_values=audio).logits
        assert torch.allclose(exported(input_values=audio).logits, expected, atol=1e-5)
