"""The Optuna sweeper's pieces: Hydra's sweep syntax as distributions, budgets shared by workers."""

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from vasr.recipe.optuna_search import SURPLUS, claimed, search_space


def test_hydra_sweep_syntax_becomes_optuna_distributions():
    space, fixed = search_space(
        [
            "model.optimizer.lr=tag(log, interval(1e-4, 5e-3))",
            "model.dropout=interval(0.0, 0.2)",
            "model.layers=int(interval(2, 8))",
            "trainer.accumulate_grad_batches=range(1, 9, 2)",
            "vocab=choice(corpus, union)",
            "data.loader.batch_size=8,16",
            "model=micro",
            "+trainer.gradient_clip_val=1.0",
        ]
    )
    assert space == {
        "model.optimizer.lr": FloatDistribution(1e-4, 5e-3, log=True),
        "model.dropout": FloatDistribution(0.0, 0.2),
        "model.layers": IntDistribution(2, 8),
        "trainer.accumulate_grad_batches": IntDistribution(1, 7, step=2),
        "vocab": CategoricalDistribution(["corpus", "union"]),
        "data.loader.batch_size": CategoricalDistribution([8, 16]),
    }
    assert fixed == ["model=micro", "+trainer.gradient_clip_val=1.0"]  # passed to every trial as written


def test_a_worker_that_gave_a_trial_back_does_not_count_it():
    study = optuna.create_study()
    for _ in range(3):
        study.tell(study.ask(), 1.0)
    surplus = study.ask()
    surplus.set_user_attr(SURPLUS, True)
    study.tell(surplus, state=TrialState.FAIL)
    running = study.ask()
    assert claimed(study) == 4  # 3 told and 1 running; the given-back trial is not one
    assert claimed(study, before=running.number) == 3


def test_a_sweep_that_optuna_cannot_sample_is_named():
    with pytest.raises(ValueError, match="glob"):
        search_space(["+callbacks=glob(*)"])
