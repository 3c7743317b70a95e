"""Transcribing one list of files on many processes: each takes a contiguous share balanced by duration, writes
its own output, and the shares are joined in input order.

Contiguous shares make the join a concatenation, and the same rule serves a SLURM array (``--part K/N``: task K of
N takes share K, its output a file of its own, ``cat`` joins them) and ranks under ``torchrun`` or ``srun`` (found
with Lightning's cluster environments; rank 0 joins the ranks' outputs once a gloo barrier says all are done).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch.distributed as dist
from lightning.fabric.plugins.environments import SLURMEnvironment, TorchElasticEnvironment

BARRIER_DAYS = 7  # how long ranks wait for the slowest at the end; a dead rank ends the wait at once (gloo)


def share(durations: list[float], part: int, parts: int) -> range:
    """Indices of share ``part`` of ``parts``: contiguous, cut where the running total of ``durations`` crosses
    each ``k/parts`` of the whole, so shares differ by at most one file's duration."""
    if not 0 <= part < parts:
        raise ValueError(f"part {part} of {parts}: parts are numbered 0 to {parts - 1}")
    ends = np.cumsum(durations, dtype=float)
    total = float(ends[-1]) if len(ends) else 0.0
    cuts = [0, *(int(np.searchsorted(ends, total * k / parts, side="left")) for k in range(1, parts)), len(ends)]
    cuts = np.maximum.accumulate(cuts)
    return range(int(cuts[part]), int(cuts[part + 1]))


def parse_part(text: str) -> tuple[int, int]:
    """``K/N`` (share K of N, from 0) as numbers, e.g. ``$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT``."""
    try:
        part, parts = (int(x) for x in text.split("/"))
    except ValueError as error:
        raise ValueError(f"--part {text!r}: give K/N, share K (from 0) of N") from error
    if not 0 <= part < parts:
        raise ValueError(f"--part {text!r}: K runs from 0 to N-1")
    return part, parts


@dataclass(frozen=True)
class Ranks:
    """This process's rank among those a launcher started, the number of them, and its local rank (its GPU)."""

    rank: int = 0
    world: int = 1
    local: int = 0

    def part_path(self, out: Path) -> Path:
        """Where this rank writes its share of ``out``: ``out`` itself alone, else ``out.rank-R-of-W``."""
        return out if self.world == 1 else out.with_name(f"{out.name}.rank-{self.rank}-of-{self.world}")


def launched_ranks() -> tuple[Ranks, SLURMEnvironment | TorchElasticEnvironment | None]:
    """The ranks ``torchrun`` or ``srun`` started this process among (one rank of one otherwise)."""
    for kind in (TorchElasticEnvironment, SLURMEnvironment):
        if kind.detect():
            environment = kind()
            if environment.world_size() > 1:
                return Ranks(environment.global_rank(), environment.world_size(), environment.local_rank()), environment
    return Ranks(), None


@contextmanager
def process_group(ranks: Ranks, environment) -> Iterator[None]:
    """A gloo group of the launched ranks while the block runs (nothing for one rank): the model needs none, only
    the final barrier does."""
    if ranks.world == 1:
        yield
        return
    address = f"tcp://{environment.main_address}:{environment.main_port}"
    timeout = datetime.timedelta(days=BARRIER_DAYS)
    dist.init_process_group("gloo", init_method=address, rank=ranks.rank, world_size=ranks.world, timeout=timeout)
    try:
        yield
    finally:
        dist.destroy_process_group()


def all_done() -> None:
    """Wait for every rank to have written its share (nothing for one rank)."""
    if dist.is_initialized():
        dist.barrier()


def join(out: Path, ranks: Ranks) -> None:
    """``out`` as the ranks' shares one after another (input order), the shares removed."""
    shares = [Ranks(rank, ranks.world).part_path(out) for rank in range(ranks.world)]
    tmp = out.with_name(out.name + ".joining")
    with tmp.open("w", encoding="utf-8") as joined:
        for path in shares:
            joined.write(path.read_text(encoding="utf-8"))
    tmp.replace(out)
    for path in shares:
        path.unlink()


def written_files(out: Path) -> list[str]:
    """The ``file`` of each complete line of an output a killed run left, the torn last line (no newline, or not
    JSON) cut off the file so that appending goes on from a line's start."""
    if not out.exists():
        return []
    data = out.read_bytes()
    files, kept = [], 0
    for line in data.splitlines(keepends=True):
        if not line.endswith(b"\n"):
            break  # torn by the kill
        try:
            files.append(json.loads(line)["file"])
        except (ValueError, KeyError, TypeError):
            break  # a damaged line: everything from it on is written again
        kept += len(line)
    if kept != len(data):
        with out.open("r+b") as file:
            file.truncate(kept)
    return files
