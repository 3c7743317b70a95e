import pytest
import torch
from transformers import Wav2Vec2CTCTokenizer, Wav2Vec2ForCTC

from tests.conftest import MICRO_ARCHITECTURE
from vasr.model.build import (
    PretrainedUnavailable,
    build_from_config,
    compile_blocks,
    load_pretrained,
    pretrained_vocab,
    raise_recompile_limit,
)
from vasr.text.vocab import PAD, build_vocab, make_tokenizer, save_vocab


@pytest.fixture
def saved_checkpoint(tmp_path):
    """A tiny 'pretrained' checkpoint with its own tokenizer, saved like a hub folder."""
    old_vocab = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4, "a": 5, "b": 6, "c": 7}
    model = build_from_config(MICRO_ARCHITECTURE, old_vocab, "<pad>")
    folder = tmp_path / "pretrained"
    model.save_pretrained(folder)
    Wav2Vec2CTCTokenizer(
        str(save_vocab(old_vocab, tmp_path)), unk_token="<unk>", pad_token="<pad>", word_delimiter_token="|"
    ).save_pretrained(folder)
    return folder, model, old_vocab


def test_build_from_config_sizes_head_from_vocab():
    vocab = build_vocab("corpus", ["bật đèn"])
    model = build_from_config(MICRO_ARCHITECTURE, vocab, PAD)
    assert model.lm_head.out_features == len(vocab) and model.config.pad_token_id == vocab[PAD] == 0
    assert model.config.ctc_zero_infinity and model.config.ctc_loss_reduction == "mean"


def test_load_pretrained_with_new_vocabulary_keeps_shared_rows(saved_checkpoint):
    folder, old_model, old_vocab = saved_checkpoint
    assert pretrained_vocab(str(folder)) == old_vocab
    vocab = build_vocab("union", ["ab đ"], old_vocab)
    model = load_pretrained(str(folder), vocab, PAD, old_vocab)
    assert model.lm_head.out_features == len(vocab) != old_model.lm_head.out_features
    for token, old_token in (("a", "a"), ("b", "b"), ("|", "|"), (PAD, "<pad>")):
        assert torch.equal(model.lm_head.weight[vocab[token]], old_model.lm_head.weight[old_vocab[old_token]])
    encoder = model.wav2vec2.feature_extractor.conv_layers[0].conv.weight
    assert torch.equal(encoder, old_model.wav2vec2.feature_extractor.conv_layers[0].conv.weight)


def test_offline_hub_id_fails_with_a_way_out(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(PretrainedUnavailable, match="set model.pretrained=DIR"):
        load_pretrained("nguyenvulebinh/wav2vec2-base-vietnamese-250h", {PAD: 0, "a": 1}, PAD)


def test_trains_a_step_after_loading(saved_checkpoint, tmp_path):
    folder, _, old_vocab = saved_checkpoint
    vocab = build_vocab("union", ["ab đ"], old_vocab)
    model = load_pretrained(str(folder), vocab, PAD, old_vocab)
    tokenizer = make_tokenizer(save_vocab(vocab, tmp_path / "new"))
    labels = torch.tensor([tokenizer("ab đ").input_ids])
    loss = model(torch.randn(1, 16000), labels=labels).loss
    loss.backward()
    assert torch.isfinite(loss) and model.lm_head.weight.grad is not None
    assert isinstance(model, Wav2Vec2ForCTC)


def test_compiled_blocks_get_a_recompile_limit_that_fits_them():
    assert hasattr(torch.compiler.config, "recompile_limit"), (
        f"torch {torch.__version__} has no torch.compiler.config.recompile_limit: "
        "vasr.model.build.raise_recompile_limit now sets it in torch's private torch._dynamo.config"
    )
    model = build_from_config(MICRO_ARCHITECTURE, build_vocab("corpus", ["bật đèn"]), PAD)
    blocks = len(model.wav2vec2.feature_extractor.conv_layers) + len(model.wav2vec2.encoder.layers)
    with torch.compiler.config.patch(recompile_limit=8):  # torch's own patch: its settings are not plain attributes
        compile_blocks(model)
        assert torch.compiler.config.recompile_limit == 8 * blocks
        raise_recompile_limit(2)  # raised, never lowered
        assert torch.compiler.config.recompile_limit == 8 * blocks


def test_a_torch_without_the_public_recompile_limit_is_raised_through_its_dynamo_config(monkeypatch):
    with torch.compiler.config.patch(recompile_limit=8):
        with monkeypatch.context() as older_torch:
            older_torch.delattr(torch.compiler, "config")
            raise_recompile_limit(64)
        assert torch.compiler.config.recompile_limit == 64, (
            f"torch {torch.__version__}: torch._dynamo.config.cache_size_limit no longer sets the recompile limit, "
            "which vasr.model.build.raise_recompile_limit sets where torch.compiler.config lacks it"
        )
