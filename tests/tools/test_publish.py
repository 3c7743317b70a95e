"""publish: a run folder becomes a shippable model folder whose card holds that run's own figures."""

import json

import pytest
from omegaconf import OmegaConf

from tests.conftest import MICRO_ARCHITECTURE
from vasr.model.build import build_from_config
from vasr.model.export import export_folder
from vasr.text.vocab import PAD, build_vocab, make_tokenizer, save_vocab
from vasr.tools.publish import publish


@pytest.fixture
def run(tmp_path):
    folder = tmp_path / "runs" / "pretrain_base"
    vocab = build_vocab("alphabet", ["bật đèn"])
    tokenizer = make_tokenizer(save_vocab(vocab, folder))
    export_folder(build_from_config(MICRO_ARCHITECTURE, vocab, PAD), tokenizer, folder / "export")
    architecture = {k: MICRO_ARCHITECTURE[k] for k in ("conv_dim", "num_hidden_layers", "hidden_size")}
    model = {"architecture": architecture, "optimizer": {"lr": 0.002}}
    model["scheduler"] = {"name": "cosine", "num_warmup_steps": 200}
    cfg = {"seed": 0, "model": model, "data": {"loader": {"max_seconds": 30}}}
    OmegaConf.save(OmegaConf.create(cfg), folder / "config.yaml")
    results = {"steps": 3000, "fit_seconds": 1800, "test/wer": 0.4321, "test/cer": 0.1234}
    (folder / "results.json").write_text(json.dumps(results))
    (folder / "split").mkdir()
    for part, sentences in {"train": ["bật đèn", "tắt quạt"], "val": ["mở cửa"], "test": ["đóng cửa"]}.items():
        lines = [json.dumps({"sentence": s, "duration": 1800.0}, ensure_ascii=False) for s in sentences]
        (folder / "split" / f"{part}.jsonl").write_text("\n".join(lines), encoding="utf-8")
    (folder / "checkpoints").mkdir()
    (folder / "checkpoints" / "best-step2000.ckpt").touch()
    # Step 1999 twice: a run resumed from before its validation repeats it; the later row counts.
    rows = ["step,train/loss,val/wer,val/cer", "10,3.1,,", "999,,0.8,0.4", "1999,,0.61,0.25", "1999,,0.6,0.2"]
    (folder / "metrics.csv").write_text("\n".join([*rows, "2999,,0.65,0.22"]) + "\n")
    return folder


def test_card_holds_the_runs_own_figures(run, tmp_path):
    dest = publish(run, tmp_path / "assets" / "vasr-test", machine="a test machine")
    assert {p.name for p in (run / "export").iterdir()} | {"README.md"} == {p.name for p in dest.iterdir()}
    card = (dest / "README.md").read_text(encoding="utf-8")
    assert "# vasr-test" in card and "4 synthetic utterances (2.0 h): 2 train, 1 val, 1 test" in card
    assert "| test (1 utterances) | 43.2% | 12.3% |" in card
    assert "3,000 optimizer steps (the weights are step 2,000's" in card
    assert "30 minutes of fitting on a test machine" in card
    assert "by step: 1,000: 80.0% / 40.0%; 2,000: 60.0% / 20.0%; 3,000: 65.0% / 22.0%." in card
    # The train split only: bật, đèn, tắt, quạt.
    assert "holds 4 distinct syllables, 4 onsets" in card and "4 rhymes and 3 of the 6 tones" in card


def test_unfinished_run_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="has not finished"):
        publish(tmp_path, tmp_path / "dest")


def test_a_fine_tuning_run_gets_a_card_naming_its_base_and_both_decodings(run, tmp_path):
    cfg = OmegaConf.load(run / "config.yaml")
    cfg.model.pretrained, cfg.model.freeze_feature_encoder, cfg.vocab = "owner/base-vi", True, {"strategy": "union"}
    cfg.data.manifest = "/data/train.jsonl"
    cfg.augment = {"speeds": [0.9, 1.0, 1.1], "reverb": {"p": 0.3}, "noise": {"p": 0.3}}
    OmegaConf.save(cfg, run / "config.yaml")
    results = json.loads((run / "results.json").read_text()) | {"test/lm_wer": 0.0275, "test/lm_cer": 0.0101}
    (run / "results.json").write_text(json.dumps(results))
    (run / "export" / "language_model").mkdir()
    (run / ".hydra").mkdir()
    (run / ".hydra" / "overrides.yaml").write_text("- model=nguyenvulebinh\n- data=soict\n")
    card = (publish(run, tmp_path / "assets" / "tuned") / "README.md").read_text(encoding="utf-8")
    assert "base_model: owner/base-vi" in card and "fine-tuned by vasr from `owner/base-vi`" in card
    assert "| greedy | 43.2% | 12.3% |" in card and "| beam search + n-gram LM | 2.8% | 1.0% |" in card
    assert "ships its n-gram LM" in card and "speeds [0.9, 1.0, 1.1], rooms p 0.3, noise p 0.3" in card
    assert "python train.py model=nguyenvulebinh data=soict" in card and "`/data/train.jsonl`" in card
