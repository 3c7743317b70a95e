"""Spoken language understanding on top of the ASR: intents and entities (SoICT 2023 SLU), and their scoring."""
