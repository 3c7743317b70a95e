"""A run's peak memory, for results.json and vasr-compare: the process's resident memory and, on CUDA, the tensors
allocated on the GPU.

The jobs of a Hydra multirun share one process, so each run resets both peaks when it starts (Linux's
``/proc/self/clear_refs``, CUDA's peak statistics); where the reset is not available the resident peak is the
process's since it began (``resource.getrusage``), which a sweep's earlier jobs may have set.
"""

from __future__ import annotations

import contextlib
import ctypes
import resource
import sys
from pathlib import Path

import torch

STATUS, CLEAR_REFS = Path("/proc/self/status"), Path("/proc/self/clear_refs")
RESET_PEAK_RSS = "5"  # clear_refs's code that resets the process's resident-memory high-water mark (Linux >= 4.0)
MB = 2**20


def reset_peaks() -> None:
    """Start measuring this run's peaks from now."""
    if CLEAR_REFS.exists():
        with contextlib.suppress(OSError):  # not permitted here: the process's lifetime peak stands (docstring)
            CLEAR_REFS.write_text(RESET_PEAK_RSS)
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()


def release_freed_heap() -> None:
    """Hand the operating system the heap pages that reading the corpus used and freed: glibc keeps them for later
    allocations (~70 MB of a million utterances' transients), which then count in the run's resident memory, the
    first step's peak included. Where the C library has no ``malloc_trim`` (not glibc), nothing is done."""
    with contextlib.suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(None).malloc_trim(0)


def peak_ram_mb() -> float:
    """The process's peak resident memory in MiB (data-loader workers, separate processes, not included)."""
    if STATUS.exists():
        for line in STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / MB
    # ru_maxrss is in kilobytes on Linux, in bytes on macOS
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024) / MB


def peaks() -> dict[str, float]:
    """``peak_ram_mb``, and ``peak_gpu_mb`` (the most tensor memory allocated at once) when the run used CUDA."""
    measured = {"peak_ram_mb": peak_ram_mb()}
    if torch.cuda.is_available() and torch.cuda.max_memory_allocated() > 0:
        measured["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / MB
    return measured
