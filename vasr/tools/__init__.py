"""Tools for finished runs: publishing a run as a model with its card, comparing runs."""
