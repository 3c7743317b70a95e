"""Serving a trained model: log-probabilities over utterances, transcription of recordings, subtitles, the CLI."""
