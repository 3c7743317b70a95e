import lightning as L
import torch

from tests.model.test_module import make
from vasr import ASSETS
from vasr.data.manifest import read_manifest
from vasr.decoding.ctc import CTCDecoding
from vasr.model.averaging import average_checkpoints
from vasr.model.export import load_checkpoint, load_for_inference
from vasr.recipe.evaluation import choose_export


def test_average_of_checkpoints_is_the_mean_of_their_weights(corpus, tmp_path):
    module, dm = make(corpus, tmp_path)
    trainer = L.Trainer(
        max_steps=1,
        logger=False,
        enable_progress_bar=False,
        limit_val_batches=0,
        default_root_dir=tmp_path,
        use_distributed_sampler=False,
    )
    trainer.fit(module, dm)
    paths = []
    for index in range(3):
        with torch.no_grad():
            for param in module.model.parameters():
                param.add_(float(index))
        paths.append(tmp_path / f"{index}.ckpt")
        trainer.save_checkpoint(paths[-1])
    averaged, _ = average_checkpoints(paths)
    models = [load_checkpoint(p)[0].state_dict() for p in paths]
    for key, value in averaged.state_dict().items():
        if value.is_floating_point():
            assert torch.allclose(value, sum(m[key] for m in models) / 3, atol=1e-5), key


def test_the_candidate_with_the_lower_val_wer_is_chosen(corpus):
    items, _ = read_manifest(corpus / "manifest.jsonl", corpus / "audio", numbers="verbalize")
    pretrained, tokenizer = load_for_inference(ASSETS / "vasr-tiny-vi")
    scrambled, _ = load_for_inference(ASSETS / "vasr-tiny-vi")
    with torch.no_grad():
        for param in scrambled.wav2vec2.encoder.parameters():
            param.copy_(torch.randn_like(param) * 0.02)
    decoding = CTCDecoding(tokenizer)
    chosen, scores = choose_export({"scrambled": scrambled, "pretrained": pretrained}, decoding, items[:8], 4)
    assert chosen == "pretrained"
    assert scores["export/val_wer_pretrained"] < scores["export/val_wer_scrambled"]
    tie, _ = choose_export({"first": pretrained, "second": pretrained}, decoding, items[:4], 4)
    assert tie == "first"
