"""Hugging Face hub datasets named as ``hf://datasets/OWNER/NAME[@REVISION][/PATTERN]`` (the hub's own URL form):
their Parquet files fetched into the hub's cache, then read as local tables."""

from __future__ import annotations

import re
from pathlib import Path

from huggingface_hub import snapshot_download

from vasr.data.sources.row import ManifestError

PREFIX = "hf://datasets/"
URL = re.compile(r"hf://datasets/(?P<repo>[^/@]+/[^/@]+)(?:@(?P<revision>[^/]+))?(?:/(?P<pattern>.+))?")


def is_hub(name: str) -> bool:
    return name.startswith(PREFIX)


def hub_files(name: str) -> list[Path]:
    """The local copies of the files of ``name`` (default pattern ``*.parquet``: every split, so name one,
    e.g. ``data/test-*.parquet``). Offline, a snapshot already in the cache serves; none is a clear error."""
    match = URL.fullmatch(name)
    if match is None:
        raise ManifestError(f"{name}: not a hub dataset URL (hf://datasets/OWNER/NAME[@REVISION][/PATTERN])")
    pattern = match["pattern"] or "*.parquet"
    try:
        folder = snapshot_download(
            match["repo"], repo_type="dataset", revision=match["revision"], allow_patterns=[pattern]
        )
    except OSError as error:  # the hub's HTTP errors, and no cached snapshot when offline
        raise ManifestError(f"{name}: the hub dataset cannot be fetched (offline, gated or absent?): {error}") from None
    found = sorted(Path(folder).glob(pattern))
    if not found:
        raise ManifestError(f"{name}: no file of the hub dataset matches {pattern!r}")
    return found
