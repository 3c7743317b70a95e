"""RankWatch names the ranks that did not check in after a failed collective, and rank 0 when its store is gone."""

import datetime
import logging
from types import SimpleNamespace

import torch.distributed as dist

from vasr.recipe.callbacks import RankWatch

TIMEOUT = datetime.timedelta(seconds=5)


def watched(store, rank: int, world: int = 3) -> RankWatch:
    watch = RankWatch(wait_seconds=1)
    watch.watch(store, SimpleNamespace(global_rank=rank, world_size=world))
    return watch


def test_the_ranks_that_do_not_check_in_are_named(caplog):
    server = dist.TCPStore("127.0.0.1", 0, is_master=True, wait_for_workers=False, timeout=TIMEOUT)
    rank0, rank1 = watched(server, 0), watched(dist.TCPStore("127.0.0.1", server.port, timeout=TIMEOUT), 1)
    assert rank1.missing_ranks() == [0, 2]  # rank 1 checked in, then waited for the others
    assert rank0.missing_ranks() == [2]
    with caplog.at_level(logging.ERROR, logger="vasr"):
        rank0.on_exception(None, None, RuntimeError("Timed out waiting 20000ms for recv operation to complete"))
    assert "rank 0: rank 2 is gone (killed, out of memory, frozen or its node lost" in caplog.text
    caplog.clear()
    rank0.on_exception(None, None, ValueError("not a collective's failure"))
    assert not caplog.text


def test_a_store_that_is_gone_names_rank_0():
    server = dist.TCPStore("127.0.0.1", 0, is_master=True, wait_for_workers=False, timeout=TIMEOUT)
    rank1 = watched(dist.TCPStore("127.0.0.1", server.port, timeout=TIMEOUT), 1, world=2)
    del server
    assert rank1.missing_ranks() == [0]
