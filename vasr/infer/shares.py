"""Transcribing one list of files on many processes: each takes a contiguous share balanced by duration, writes
its own output, and the shares are joined in input order.

Contiguous shares make the join a concatenation, and the same rule serves a SLURM array (``--part K/N``: task K of
N takes share K, its output a file of its own, ``cat`` joins them) and ranks under ``torchrun`` or ``srun`` (found
with Lightning's cluster environments; rank 0 joins the ranks' outputs once a gloo barrier says all are done).
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch.distributed as dist
from lightning.fabric.plugins.environments import SLURMEnvironment, TorchElasticEnvironment

BARRIER_DAYS = 7  # how long ranks wait for the slowest at the end; a dead rank ends the wait at once (gloo)
MEETING_MINUTES = 10  # how long ranks wait for each other at the start (a rank that failed to start never comes)


def share(durations: list[float], part: int, parts: int) -> range:
    """Indices of share ``part`` of ``parts``: contiguous, each cut at the file boundary nearest ``k/parts`` of the
    whole, so each share is within half the longest file of its even part."""
    if not 0 <= part < parts:
        raise ValueError(f"part {part} of {parts}: parts are numbered 0 to {parts - 1}")
    ends = np.cumsum(durations, dtype=float)
    total = float(ends[-1]) if len(ends) else 0.0
    cuts = [0, *(nearest_cut(ends, total * k / parts) for k in range(1, parts)), len(ends)]
    cuts = np.maximum.accumulate(cuts)
    return range(int(cuts[part]), int(cuts[part + 1]))


def nearest_cut(ends: np.ndarray, target: float) -> int:
    """The number of files before the cut nearest ``target`` seconds, ``ends`` being each file's running end."""
    after = int(np.searchsorted(ends, target))
    if after == len(ends):
        return after
    before = float(ends[after - 1]) if after else 0.0
    return after + int(ends[after] - target < target - before)


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
    """The ranks ``torchrun`` or ``srun`` started this process among (one rank of one otherwise). Under SLURM only
    an ``srun`` step counts (``SLURM_STEP_NUM_TASKS``): a batch script's own process is one rank, whatever
    ``--ntasks`` the job has; an ``srun`` step Lightning does not take for a launcher (a job named ``bash`` or
    ``interactive``) is refused rather than let every task transcribe every file into the same output."""
    if TorchElasticEnvironment.detect():
        environment = TorchElasticEnvironment()
    elif SLURMEnvironment.detect() and int(os.environ.get("SLURM_STEP_NUM_TASKS", "1")) > 1:
        environment = SLURMEnvironment()
    elif int(os.environ.get("SLURM_STEP_NUM_TASKS", "1")) > 1:
        raise RuntimeError(
            "several srun tasks, but not as Lightning recognises a SLURM launch (an interactive job?): run one task, "
            "or sbatch a script whose srun starts the tasks"
        )
    else:
        return Ranks(), None
    if environment.world_size() == 1:
        return Ranks(), None
    return Ranks(environment.global_rank(), environment.world_size(), environment.local_rank()), environment


@contextmanager
def process_group(ranks: Ranks, environment) -> Iterator[dist.ProcessGroup | None]:
    """A gloo group of the launched ranks while the block runs (None for one rank): the model needs none, only the
    final barrier, which waits up to ``BARRIER_DAYS`` for the slowest rank (meeting at the start waits minutes)."""
    if ranks.world == 1:
        yield None
        return
    address = f"tcp://{environment.main_address}:{environment.main_port}"
    meeting = datetime.timedelta(minutes=MEETING_MINUTES)
    dist.init_process_group("gloo", init_method=address, rank=ranks.rank, world_size=ranks.world, timeout=meeting)
    try:
        yield dist.new_group(backend="gloo", timeout=datetime.timedelta(days=BARRIER_DAYS))
    finally:
        dist.destroy_process_group()


def all_done(group: dist.ProcessGroup | None) -> None:
    """Wait for every rank to have written its share (nothing for one rank)."""
    if group is not None:
        dist.barrier(group=group)


def join(out: Path, ranks: Ranks) -> None:
    """``out`` as the ranks' shares one after another (input order), the shares removed."""
    shares = [Ranks(rank, ranks.world).part_path(out) for rank in range(ranks.world)]
    tmp = out.with_name(out.name + ".joining")
    with tmp.open("wb") as joined:
        for path in shares:
            with path.open("rb") as part:
                shutil.copyfileobj(part, joined)
    tmp.replace(out)
    for path in shares:
        path.unlink()


def written_files(out: Path) -> tuple[list[str], int]:
    """The ``file`` of each complete line of an output a killed run left, and the bytes those lines take: a torn
    last line (no newline, or not JSON) is what :func:`cut_after` removes once the lines are known to be this
    command's."""
    if not out.exists():
        return [], 0
    files, kept = [], 0
    with out.open("rb") as handle:
        for line in handle:
            if not line.endswith(b"\n"):
                break  # torn by the kill
            try:
                files.append(json.loads(line)["file"])
            except (ValueError, KeyError, TypeError):
                break  # a damaged line: everything from it on is written again
            kept += len(line)
    return files, kept


def cut_after(out: Path, kept: int) -> None:
    """``out`` cut to its first ``kept`` bytes, so appending goes on from a line's start."""
    if out.exists() and out.stat().st_size != kept:
        with out.open("r+b") as file:
            file.truncate(kept)
