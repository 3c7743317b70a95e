import pytest
from lightning.pytorch.strategies import DDPStrategy

from vasr.recipe.trainer import strategy


@pytest.mark.parametrize(
    ("name", "devices", "nodes", "ddp"),
    [("ddp", 1, 2, True), ("auto", 2, 1, True), ("auto", [0, 1], 1, True), ("auto", 1, 1, False)],
)
def test_every_multi_process_run_gets_ddp_with_the_configured_timeout(name, devices, nodes, ddp):
    arguments = {"strategy": name, "collective_timeout_s": 20, "devices": devices, "num_nodes": nodes}
    chosen = strategy(arguments)
    assert isinstance(chosen, DDPStrategy) == ddp and (ddp or chosen == "auto")
    assert set(arguments) == {"devices", "num_nodes"}  # not Trainer arguments: taken out
