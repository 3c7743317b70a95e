"""The joint intent/slot model through L.Trainer on synthesised command text, scored on held-out text."""

import pytest
from hydra import compose, initialize_config_dir

from tests.conftest import ROOT
from tests.slu.conftest import TRAINED, commands
from vasr.recipe.nlu import score_readings, train_nlu
from vasr.recipe.run_folder import RunFolder
from vasr.slu.model import NluModel, scratch_encoder


@TRAINED
def test_it_learns_intents_and_slots_of_held_out_commands(trained):
    nlu, examples, _ = trained
    gold = score_readings(nlu, examples["test"], None)["gold"]
    assert gold["intent_accuracy"] >= 0.9 and gold["entity"]["f1"] >= 0.7 and gold["slu_f1"] >= 0.75


@TRAINED
def test_the_saved_folder_predicts_alike(trained):
    nlu, examples, run = trained
    texts = [" ".join(e.words) for e in examples["test"][:20]]
    assert NluModel.load(run.nlu).predict(texts) == nlu.predict(texts)


@pytest.mark.parametrize("option", ["phobert", "xlmr"])
def test_the_hub_encoder_configs_load_a_folder_and_fine_tune(tmp_path, option):
    """nlu=phobert / nlu=xlmr as composed from conf/, their encoder a small model saved here (no hub offline)."""
    encoder, tokenizer = scratch_encoder([" ".join(e.words) for e in commands(4, 200)])
    encoder.save_pretrained(tmp_path / "encoder")
    tokenizer.save_pretrained(tmp_path / "encoder")
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(config_name="train", overrides=[f"nlu={option}", f"nlu.encoder.name={tmp_path / 'encoder'}"])
    cfg.nlu.max_epochs, cfg.nlu.accelerator = 1, "cpu"
    examples = {"train": commands(4, 200), "val": commands(5, 20), "test": commands(6, 20)}
    nlu = train_nlu(cfg.nlu, examples, RunFolder(tmp_path / "run"), seed=0)
    assert len(nlu.predict(["bật đèn phòng khách"])) == 1 and (tmp_path / "run" / "nlu" / "labels.json").exists()


@TRAINED
def test_a_test_split_without_utterances_is_not_scored_and_says_so(trained, caplog):
    nlu, _, _ = trained
    with caplog.at_level("INFO", logger="vasr"):
        assert score_readings(nlu, [], None) == {}
    assert "no test utterances with intents and entities: nothing to score" in caplog.text
