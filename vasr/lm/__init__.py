"""Language models for decoding: a word n-gram (ARPA) fused into CTC beam search."""
