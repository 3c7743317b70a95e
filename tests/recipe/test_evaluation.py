"""Scoring makes the model's input with its own feature extractor, whichever path scores it."""

import json

import torch
from hydra import compose, initialize_config_dir
from transformers import AutoModelForCTC, Wav2Vec2CTCTokenizer, Wav2Vec2FeatureExtractor

from tests.conftest import ROOT
from tests.families import save_tiny_checkpoint
from vasr.data.corpus import load_corpus
from vasr.decoding.ctc import CTCDecoding
from vasr.infer.posteriors import posteriors
from vasr.model.export import export_folder
from vasr.model.module import CTCModule
from vasr.recipe.evaluation import evaluate, score


def test_a_checkpoint_without_normalisation_scores_alike_through_training_and_vasr_evaluate(corpus, tmp_path):
    checkpoint = save_tiny_checkpoint("wav2vec2", tmp_path / "pretrained")
    extractor = Wav2Vec2FeatureExtractor(do_normalize=False, return_attention_mask=True)
    model = AutoModelForCTC.from_pretrained(checkpoint).eval()
    tokenizer = Wav2Vec2CTCTokenizer.from_pretrained(checkpoint)
    module = CTCModule(model, tokenizer, extractor=extractor)  # a run's module, as training scores with it
    export_folder(model, tokenizer, tmp_path / "export", module.extractor)
    data = [
        "data=soict",
        f"data.manifest={corpus / 'manifest.jsonl'}",
        f"data.audio_dir={corpus / 'audio'}",
        "data.val_ratio=0.25",
        "data.test_ratio=0.25",
    ]
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(
            "evaluate",
            [f"model_path={tmp_path / 'export'}", "decode=greedy", "device=cpu", f"paths.output_dir={tmp_path / 'ev'}"]
            + data,
        )
    test = load_corpus(cfg.data, cfg.seed)[0]["test"]
    trained = score(module.model, CTCDecoding(tokenizer), test, 1, tmp_path / "train.jsonl", "cpu", module.features)
    evaluated = evaluate(cfg)
    assert {k: evaluated[k] for k in ("wer", "cer")} == {k: trained[k] for k in ("wer", "cer")}
    lines = [json.loads(line) for line in (tmp_path / "ev" / "predictions.jsonl").read_text().splitlines()]
    assert lines == [json.loads(line) for line in (tmp_path / "train.jsonl").read_text().splitlines()]
    # the extractor's setting matters: the family's default (normalised) input gives other log-probabilities
    own, _ = posteriors(model, tokenizer, test[:2], device="cpu", features=module.features)
    default, _ = posteriors(model, tokenizer, test[:2], device="cpu")
    assert not torch.allclose(own[0], default[0], atol=1e-4)
