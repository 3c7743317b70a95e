import shutil

import pytest
import torch
import transformers
from transformers import Wav2Vec2Config, Wav2Vec2ForCTC

from tests.conftest import MICRO_ARCHITECTURE, optim_factories
from tests.model.test_module import make, quiet_trainer
from vasr.model.adapters import adapter_only, adapter_weights, save_adapter
from vasr.model.build import build_from_config, build_module
from vasr.model.export import export_folder, load_checkpoint
from vasr.text.vocab import PAD


@pytest.fixture(scope="module")
def mms_like(tmp_path_factory):
    """A tiny MMS stand-in: a Wav2Vec2ForCTC with attention adapters (adapter_attn_dim; MMS's pre-LN layers have
    them), saved as a folder."""
    folder = tmp_path_factory.mktemp("mms_like")
    shape = {**MICRO_ARCHITECTURE, "do_stable_layer_norm": True}
    config = Wav2Vec2Config(**shape, adapter_attn_dim=4, vocab_size=12, pad_token_id=0)
    torch.manual_seed(0)
    Wav2Vec2ForCTC(config).save_pretrained(folder)
    return folder


def test_a_model_without_adapters_is_refused():
    for shape in (MICRO_ARCHITECTURE, {**MICRO_ARCHITECTURE, "adapter_attn_dim": 4}):  # post-LN: no adapter layers
        with pytest.raises(ValueError, match="adapter_attn_dim"):
            adapter_only(build_from_config(shape, {PAD: 0, "a": 1}, PAD), "vie")


def test_the_adapter_file_is_the_one_transformers_load_adapter_reads(mms_like, tmp_path):
    """vasr names the file and the adapter layers itself (transformers defines them in an internal module)."""
    folder = shutil.copytree(mms_like, tmp_path / "mms")
    trained = Wav2Vec2ForCTC.from_pretrained(folder)
    adapter_only(trained, "vie")
    with torch.no_grad():
        for param in adapter_weights(trained).values():
            param.add_(torch.randn_like(param))
    assert save_adapter(trained, folder) == folder / "adapter.vie.safetensors"
    base = Wav2Vec2ForCTC.from_pretrained(folder).eval()
    try:
        base.load_adapter("vie")
    except (OSError, ValueError) as error:
        pytest.fail(f"transformers {transformers.__version__} no longer reads vasr's adapter file: {error}")
    audio = torch.randn(1, 8000, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(base(input_values=audio).logits, trained.eval()(input_values=audio).logits, atol=1e-5)


def test_adapter_training_moves_only_adapters_and_head_and_exports_the_adapter_file(corpus, mms_like, tmp_path):
    plain, dm = make(corpus, tmp_path)
    module = build_module(
        vocab=plain.tokenizer.get_vocab(),
        name="mms",
        pretrained=str(mms_like),
        architecture=None,
        overrides=None,
        **optim_factories(lr=1e-2),
        target_lang="vie",
    )
    adapters = set(adapter_weights(module.model))
    assert {n for n, p in module.model.named_parameters() if p.requires_grad} == adapters
    assert any(".adapter_layer." in name for name in adapters)
    before = {k: v.clone() for k, v in module.model.state_dict().items()}
    trainer = quiet_trainer(tmp_path, max_steps=3, limit_val_batches=0)
    trainer.fit(module, dm)
    after = module.model.state_dict()
    base = [k for k in before if k not in adapters]
    assert len(base) > len(adapters) and all(torch.equal(before[k], after[k]) for k in base)
    assert all(not torch.equal(before[k], after[k]) for k in adapters if ".adapter_layer." in k)

    trainer.save_checkpoint(tmp_path / "mms.ckpt")
    model, tokenizer = load_checkpoint(tmp_path / "mms.ckpt")
    export = export_folder(model, tokenizer, tmp_path / "export")
    assert (export / "adapter.vie.safetensors").is_file()
    audio = torch.randn(2, 16000, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = module.model.eval()(input_values=audio).logits
        whole = Wav2Vec2ForCTC.from_pretrained(export).eval()
        assert torch.allclose(whole(input_values=audio).logits, expected, atol=1e-5)
        # as MMS users do: the base model, then load_adapter from where it lives
        shutil.copy(export / "adapter.vie.safetensors", mms_like / "adapter.vie.safetensors")
        base = Wav2Vec2ForCTC.from_pretrained(mms_like).eval()
        base.load_adapter("vie")
        assert torch.allclose(base(input_values=audio).logits, expected, atol=1e-5)


def test_adapters_and_lora_together_are_refused_before_anything_is_built():
    with pytest.raises(ValueError, match="pick one"):
        build_module(
            vocab={PAD: 0, "a": 1},
            name="mms",
            pretrained="no/such-checkpoint",
            architecture=None,
            overrides=None,
            **optim_factories(),
            target_lang="vie",
            peft={"method": "lora"},
        )
