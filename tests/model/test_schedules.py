import pytest
import torch

from vasr.model.schedules import tri_stage


def test_tri_stage_warms_up_holds_then_decays_to_its_final_share():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    schedule = tri_stage(optimizer, 100, warmup=0.1, hold=0.4, init_scale=0.01, final_scale=0.05)
    rates = []
    for _ in range(101):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert rates[0] == pytest.approx(0.01) and rates[5] == pytest.approx(0.01 + 0.99 * 0.5)
    assert rates[10:50] == [1.0] * 40
    assert all(a > b for a, b in zip(rates[50:100], rates[51:101], strict=True))
    assert rates[100] == pytest.approx(0.05) and rates[75] == pytest.approx(0.05**0.5)
