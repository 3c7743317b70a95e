"""A word n-gram language model: trained with interpolated Kneser-Ney, stored as ARPA.

Vietnamese words are syllables, so a syllable n-gram over a corpus's transcripts is a small,
strong model of what its speakers say. KenLM's ``lmplz`` is the usual tool, but it is a C++
build that no package registry ships; this estimates the same kind of model in Python in
seconds for corpora of this size and writes standard ARPA, which ``kenlm`` and other decoders read.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
# ARPA's stand-in for log10(0): the probability of predicting <s>.
LOG_ZERO = -99.0

Ngram = tuple[str, ...]


class NgramLM:
    """Backoff n-gram tables: ``log10 p(w | h)`` for stored n-grams, ``log10 backoff(h)`` for contexts."""

    def __init__(self, order: int, logprob: dict[Ngram, float], backoff: dict[Ngram, float]) -> None:
        if order < 1:
            raise ValueError(f"n-gram order must be at least 1, got {order}")
        self.order = order
        self.logprob = logprob
        self.backoff = backoff
        self.vocab = frozenset(g[0] for g in logprob if len(g) == 1) - {BOS, EOS, UNK}

    def score(self, context: Ngram, word: str) -> float:
        """log10 p(word | context), backing off to shorter contexts; unknown words score as <unk>."""
        if (word,) not in self.logprob:
            word = UNK
        context = context[-(self.order - 1) :] if self.order > 1 else ()
        penalty = 0.0
        while True:
            found = self.logprob.get((*context, word))
            if found is not None:
                return penalty + found
            if not context:
                return penalty + LOG_ZERO
            penalty += self.backoff.get(context, 0.0)
            context = context[1:]

    def sentence_logprob(self, words: list[str]) -> float:
        """log10 p of a whole sentence, with <s> and </s>."""
        context: Ngram = (BOS,)
        total = 0.0
        for word in [*words, EOS]:
            total += self.score(context, word)
            context = (*context, word)[-(self.order - 1) :] if self.order > 1 else ()
        return total

    def perplexity(self, sentences: Iterable[list[str]]) -> float:
        """Per-token perplexity (words and </s>) over ``sentences``."""
        logprob, tokens = 0.0, 0
        for words in sentences:
            logprob += self.sentence_logprob(words)
            tokens += len(words) + 1
        return 10 ** (-logprob / max(tokens, 1))

    @classmethod
    def train(cls, sentences: Iterable[list[str]], order: int = 3) -> NgramLM:
        """Interpolated Kneser-Ney (Chen & Goodman) with one discount per order, as ``lmplz`` estimates.

        Lower orders count distinct left contexts rather than occurrences, so a word that only
        follows one phrase gets little probability after others; the unigram level is interpolated
        with a uniform distribution, which leaves mass for <unk>.
        """
        if order < 1:
            raise ValueError(f"n-gram order must be at least 1, got {order}")
        raw: list[Counter[Ngram]] = [Counter() for _ in range(order + 1)]
        for words in sentences:
            padded = [BOS, *words, EOS]
            for end in range(1, len(padded)):
                for n in range(1, min(order, end + 1) + 1):
                    raw[n][tuple(padded[end + 1 - n : end + 1])] += 1
        if not raw[1]:
            raise ValueError("cannot train an n-gram model on no sentences")
        # Adjusted counts: the highest order and n-grams starting at <s> keep their counts; the
        # rest count the distinct words seen before them.
        adjusted: list[dict[Ngram, int]] = [{} for _ in range(order + 1)]
        adjusted[order] = dict(raw[order])
        for n in range(order - 1, 0, -1):
            left = Counter(g[1:] for g in raw[n + 1])
            adjusted[n] = {g: (c if g[0] == BOS else left.get(g, c)) for g, c in raw[n].items()}
        logprob: dict[Ngram, float] = {}
        backoff: dict[Ngram, float] = {}
        vocab_size = len({g[0] for g in raw[1]} - {BOS}) + 1  # + <unk>
        lower: dict[Ngram, float] = {}  # p(w | shorter context), linear
        for n in range(1, order + 1):
            counts = adjusted[n]
            discount = _discount(counts.values())
            totals: dict[Ngram, int] = defaultdict(int)
            types: dict[Ngram, int] = defaultdict(int)
            for gram, count in counts.items():
                totals[gram[:-1]] += count
                types[gram[:-1]] += 1
            gamma = {h: discount * types[h] / totals[h] for h in totals}
            probs: dict[Ngram, float] = {}
            for gram, count in counts.items():
                below = lower[gram[1:]] if n > 1 else 1 / vocab_size
                probs[gram] = (count - discount) / totals[gram[:-1]] + gamma[gram[:-1]] * below
            if n == 1:
                probs[(UNK,)] = gamma[()] / vocab_size
            for h, g in gamma.items():
                if h:
                    backoff[h] = math.log10(g)
            logprob |= {gram: math.log10(p) for gram, p in probs.items()}
            lower = probs
        logprob[(BOS,)] = LOG_ZERO
        return cls(order, logprob, backoff)

    def to_arpa(self, path: str | Path) -> Path:
        """Write the tables as an ARPA file."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        by_order: dict[int, list[Ngram]] = defaultdict(list)
        for gram in self.logprob:
            by_order[len(gram)].append(gram)
        with path.open("w", encoding="utf-8") as out:
            out.write("\\data\\\n")
            for n in range(1, self.order + 1):
                out.write(f"ngram {n}={len(by_order[n])}\n")
            for n in range(1, self.order + 1):
                out.write(f"\n\\{n}-grams:\n")
                for gram in sorted(by_order[n]):
                    line = f"{self.logprob[gram]:.6f}\t{' '.join(gram)}"
                    if n < self.order and gram in self.backoff:
                        line += f"\t{self.backoff[gram]:.6f}"
                    out.write(line + "\n")
            out.write("\n\\end\\\n")
        return path


def _discount(counts: Iterable[int]) -> float:
    """Kneser-Ney's D = n1 / (n1 + 2 n2) from counts of counts, kept inside (0, 1)."""
    of = Counter(c for c in counts if c <= 2)
    n1, n2 = of[1], of[2]
    if n1 == 0 or n2 == 0:
        return 0.5
    return min(max(n1 / (n1 + 2 * n2), 0.05), 0.95)
