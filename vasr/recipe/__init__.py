"""The recipe: a run as named steps, its folder, Trainer, callbacks, loggers, report; it writes run files."""
