"""The joint intent/slot model through L.Trainer on synthesised command text, scored on held-out text."""

from vasr.recipe.nlu import score_readings
from vasr.slu.model import NluModel


def test_it_learns_intents_and_slots_of_held_out_commands(trained):
    nlu, examples, _ = trained
    gold = score_readings(nlu, examples["test"], None)["gold"]
    assert gold["intent_accuracy"] >= 0.9 and gold["entity"]["f1"] >= 0.7 and gold["slu_f1"] >= 0.75


def test_the_saved_folder_predicts_alike(trained):
    nlu, examples, run = trained
    texts = [" ".join(e.words) for e in examples["test"][:20]]
    assert NluModel.load(run.nlu).predict(texts) == nlu.predict(texts)
