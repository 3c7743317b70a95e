"""wav2vec 2.0 CTC models: building, loading, decoding and the LightningModule."""
