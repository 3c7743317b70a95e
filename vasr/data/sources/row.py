"""What every manifest source yields: one row, located, before vasr's validation sees it."""

from __future__ import annotations

from typing import NamedTuple


class ManifestError(ValueError):
    """A manifest, or a line of it, that cannot be used, located as ``file`` or ``file:line``."""


class BadRow(ValueError):
    """Why one row cannot be used (the message only; the caller knows ``file:line``)."""


class Row(NamedTuple):
    """One utterance as a source read it: where it is, and its fields in vasr's names or why it has none.

    ``record`` holds at least ``id``, ``sentence`` and ``file`` for every format but vasr's own (whose missing
    keys validation names); ``problem`` says why a row that could not be read has no record. A tuple: a source
    makes millions of them.
    """

    origin: str
    number: int
    record: dict | None = None
    problem: str = ""

    @property
    def where(self) -> str:
        """``file:line`` (a Parquet file's row number for tables), how errors name this row."""
        return f"{self.origin}:{self.number}"
