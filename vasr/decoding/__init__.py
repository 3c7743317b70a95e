"""CTC outputs to text: the decoding config, greedy and beam search with an n-gram, LM weight search, error rates."""
