"""publish: a run folder becomes a shippable model folder whose card holds that run's own figures."""

import json
import shutil

import pytest
import yaml
from huggingface_hub import ModelCard
from omegaconf import OmegaConf
from transformers import AutoModelForCTC

from tests.conftest import MICRO_ARCHITECTURE
from tests.families import save_tiny_checkpoint
from vasr import ASSETS
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
    dest = publish(run, tmp_path / "assets" / "somewhere", machine="a test machine", name="vasr-test")
    assert {p.name for p in (run / "export").iterdir()} | {"README.md"} == {p.name for p in dest.iterdir()}
    card = (dest / "README.md").read_text(encoding="utf-8")
    assert (
        "# vasr-test" in card
        and "4 synthetic utterances (2.0 h): 2 train, 1 val, 1 test, a seeded split (seed 0)" in card
    )
    assert "On its held-out test split (1 utterances):" in card and "| Test WER (greedy) | 43.2% |" in card
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
    assert ModelCard(card).data.base_model == "owner/base-vi" and "fine-tuned by vasr from `owner/base-vi`" in card
    assert "A `Wav2Vec2ForCTC` model (the `wav2vec2` encoder family" in card and "feature encoder frozen" in card
    assert "| Test WER (greedy) | 43.2% |" in card and "| Test WER (beam search + n-gram LM) | 2.8% |" in card
    assert "| Test CER (beam search + n-gram LM) | 1.0% |" in card
    assert len(ModelCard(card).data.eval_results) == 4
    assert "ships its n-gram LM" in card and "speeds [0.9, 1.0, 1.1], rooms p 0.3, noise p 0.3" in card
    assert "python train.py model=nguyenvulebinh data=soict" in card and "`/data/train.jsonl`" in card


def test_the_card_metadata_is_the_hubs_with_a_model_index_of_the_test_scores(run, tmp_path):
    dest = publish(run, tmp_path / "dest")
    card = ModelCard.load(dest / "README.md")
    assert card.data.model_name == "pretrain_base" and card.text.lstrip().startswith("# pretrain_base")
    assert card.data.base_model is None and "synthetic-speech" in card.data.tags
    scores = {(r.metric_name, r.metric_type, r.dataset_split): r.metric_value for r in card.data.eval_results}
    assert scores == {("Test WER (greedy)", "wer", "test"): 0.4321, ("Test CER (greedy)", "cer", "test"): 0.1234}
    index = yaml.safe_load((dest / "README.md").read_text(encoding="utf-8").split("---")[1])["model-index"]
    assert index[0]["name"] == "pretrain_base"
    assert index[0]["results"][0]["task"]["type"] == "automatic-speech-recognition"


def test_a_run_from_the_shipped_asset_with_its_own_val_and_test_manifests_gets_a_card_of_what_happened(run, tmp_path):
    cfg = OmegaConf.load(run / "config.yaml")
    cfg.model.pretrained = str(ASSETS / "vasr-tiny-vi")  # as ${vasr_asset:vasr-tiny-vi} resolves: a local path
    cfg.model.freeze_feature_encoder, cfg.vocab, cfg.run_name = True, {"strategy": "union"}, "tiny-on-soict"
    cfg.model.scheduler._target_ = "x"
    cfg.data.manifest, cfg.data.val_manifest, cfg.data.test_manifest = "/d/train.jsonl", "/d/dev.jsonl", None
    OmegaConf.save(cfg, run / "config.yaml")
    results = {k: v for k, v in json.loads((run / "results.json").read_text()).items() if not k.startswith("test/")}
    (run / "results.json").write_text(json.dumps(results))
    card = ModelCard.load(publish(run, tmp_path / "out") / "README.md")
    assert card.data.base_model is None and card.data.eval_results is None and card.data.model_name == "tiny-on-soict"
    assert (
        "fine-tuned by vasr from vasr's shipped `vasr-tiny-vi` (`vasr/assets/vasr-tiny-vi`, not on the hub)"
        in card.text
    )
    assert "2 train from `/d/train.jsonl`, 1 val from `/d/dev.jsonl`, no test split" in card.text.replace("\n", " ")
    assert "seeded" not in card.text and "The run held no test split" in card.text


def test_a_card_names_the_family_and_base_of_a_w2v_bert_run(run, tmp_path):
    shutil.rmtree(run / "export")
    save_tiny_checkpoint("wav2vec2-bert", run / "export")
    cfg = OmegaConf.load(run / "config.yaml")
    cfg.model.pretrained, cfg.model.freeze_feature_encoder, cfg.vocab = "facebook/w2v-bert-2.0", True, {"strategy": "x"}
    OmegaConf.save(cfg, run / "config.yaml")
    card = ModelCard.load(publish(run, tmp_path / "out") / "README.md")
    parameters = sum(p.numel() for p in AutoModelForCTC.from_pretrained(run / "export").parameters())
    text = " ".join(card.text.split())
    assert (
        f"A `Wav2Vec2BertForCTC` model (the `wav2vec2-bert` encoder family, CTC head) fine-tuned by vasr from "
        f"`facebook/w2v-bert-2.0`: {parameters:,} parameters" in text
    )
    assert card.data.base_model == "facebook/w2v-bert-2.0" and "wav2vec2-bert" in card.data.tags
    assert "no convolutional feature encoder (filter-bank input)" in text and "feature encoder frozen" not in text
