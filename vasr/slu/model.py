"""The joint intent + slot model (JointBERT / JointIDSF's design) over a transformers encoder.

The intent is read from the first token's state, a BIO tag per word from the state of the word's first
sub-token. Words are tokenised one at a time, so any tokenizer serves, fast or slow: PhoBERT's BPE reads
Vietnamese syllables as they come (vasr does not word-segment: VnCoreNLP's segmenter is a Java tool, and
ASR output has no segmentation either), XLM-R's SentencePiece sees each syllable as a word start.
Offline, :func:`scratch_encoder` builds a small BERT with a word-level vocabulary of the training text.

A model folder (what ``train.py`` writes to ``RUN/nlu``) holds ``encoder/`` (``save_pretrained`` of the
encoder and its tokenizer), ``heads.safetensors`` and ``labels.json`` (intents and tags, in head order).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import WhitespaceSplit
from transformers import AutoModel, AutoTokenizer, BertConfig, BertModel, PreTrainedModel, PreTrainedTokenizerFast

from vasr.slu.data import entities_of
from vasr.slu.metrics import Frame
from vasr.slu.schema import OUTSIDE

IGNORE = -100  # label of sub-tokens that are not a word's first: no loss, no prediction
SPECIAL = {"pad_token": "[PAD]", "unk_token": "[UNK]", "cls_token": "[CLS]", "sep_token": "[SEP]"}


def scratch_encoder(
    texts: Iterable[str], hidden_size: int = 128, num_layers: int = 2, heads: int = 4, min_count: int = 1
) -> tuple[PreTrainedModel, PreTrainedTokenizerFast]:
    """A small BERT and a word-level tokenizer over the words of ``texts`` seen ``min_count`` times.

    The BERT keeps its pooler, unused (the heads read the token states), so that the saved encoder is what
    ``AutoModel.from_pretrained`` rebuilds in :meth:`NluModel.load`: without it every load reported the pooler's
    weights MISSING. Hub encoders are loaded, saved and reloaded the same way."""
    counts = Counter(word for text in texts for word in text.split())
    words = [w for w, n in sorted(counts.items()) if n >= min_count]
    vocab = {token: i for i, token in enumerate([*SPECIAL.values(), *words])}
    backend = Tokenizer(WordLevel(vocab, unk_token=SPECIAL["unk_token"]))
    backend.pre_tokenizer = WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, **SPECIAL)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=heads,
        intermediate_size=4 * hidden_size,
        max_position_embeddings=128,
        pad_token_id=vocab[SPECIAL["pad_token"]],
    )
    return BertModel(config), tokenizer


def hub_encoder(texts: Iterable[str], name: str) -> tuple[PreTrainedModel, PreTrainedTokenizerFast]:
    """A pretrained encoder and its tokenizer from the hub or a folder (``vinai/phobert-base-v2``,
    ``xlm-roberta-base``); ``texts`` are not needed."""
    return AutoModel.from_pretrained(name), AutoTokenizer.from_pretrained(name)


class JointIntentSlot(torch.nn.Module):
    """An encoder with an intent head on the first token and a BIO-tag head on each word's first sub-token."""

    def __init__(self, encoder: PreTrainedModel, intents: Sequence[str], tags: Sequence[str], dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        self.intents, self.tags = list(intents), list(tags)
        hidden = encoder.config.hidden_size
        self.dropout = torch.nn.Dropout(dropout)
        self.intent_head = torch.nn.Linear(hidden, len(self.intents))
        self.tag_head = torch.nn.Linear(hidden, len(self.tags))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        states = self.dropout(self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state)
        return self.intent_head(states[:, 0]), self.tag_head(states)

    def heads(self) -> dict[str, torch.Tensor]:
        return {f"intent.{k}": v for k, v in self.intent_head.state_dict().items()} | {
            f"tag.{k}": v for k, v in self.tag_head.state_dict().items()
        }


def encode_words(tokenizer, words: Sequence[str], max_tokens: int = 128) -> tuple[list[int], list[int]]:
    """Token ids of ``[CLS] words [SEP]`` and the position of each word's first sub-token (words past
    ``max_tokens`` are cut and tagged O)."""
    ids, firsts = [tokenizer.cls_token_id], []
    for word in words:
        pieces = tokenizer.encode(word, add_special_tokens=False) or [tokenizer.unk_token_id]
        if len(ids) + len(pieces) >= max_tokens:
            break
        firsts.append(len(ids))
        ids += pieces
    return ids + [tokenizer.sep_token_id], firsts


def batch_inputs(tokenizer, sentences: Sequence[Sequence[str]]) -> tuple[dict[str, torch.Tensor], list[list[int]]]:
    """Padded ``input_ids``/``attention_mask`` of word sequences, and each sentence's first-sub-token positions."""
    encoded = [encode_words(tokenizer, words) for words in sentences]
    longest = max(len(ids) for ids, _ in encoded)
    input_ids = torch.full((len(encoded), longest), tokenizer.pad_token_id)
    mask = torch.zeros((len(encoded), longest), dtype=torch.long)
    for row, (ids, _) in enumerate(encoded):
        input_ids[row, : len(ids)] = torch.tensor(ids)
        mask[row, : len(ids)] = 1
    return {"input_ids": input_ids, "attention_mask": mask}, [firsts for _, firsts in encoded]


class NluModel:
    """A trained joint model with its tokenizer: text in, frames out."""

    def __init__(self, network: JointIntentSlot, tokenizer) -> None:
        self.network = network.eval()
        self.tokenizer = tokenizer

    @torch.inference_mode()
    def predict(self, texts: Sequence[str], batch_size: int = 64) -> list[Frame]:
        """The frame of each (written-form) text."""
        frames: list[Frame] = []
        device = next(self.network.parameters()).device
        for start in range(0, len(texts), batch_size):
            sentences = [text.split() for text in texts[start : start + batch_size]]
            inputs, firsts = batch_inputs(self.tokenizer, sentences)
            intents, tags = self.network(**{k: v.to(device) for k, v in inputs.items()})
            for row, words in enumerate(sentences):
                picked = tags[row, firsts[row]].argmax(-1).tolist() if firsts[row] else []
                labels = [self.network.tags[i] for i in picked] + [OUTSIDE] * (len(words) - len(picked))
                intent = self.network.intents[int(intents[row].argmax())]
                frames.append(Frame(intent, entities_of(words, labels)))
        return frames

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        self.network.encoder.save_pretrained(folder / "encoder")
        self.tokenizer.save_pretrained(folder / "encoder")
        save_file({k: v.contiguous() for k, v in self.network.heads().items()}, folder / "heads.safetensors")
        labels = {"intents": self.network.intents, "tags": self.network.tags}
        (folder / "labels.json").write_text(json.dumps(labels, ensure_ascii=False, indent=1), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> NluModel:
        folder = Path(folder)
        if not (folder / "labels.json").is_file():
            raise FileNotFoundError(f"{folder}: not an NLU model folder (no labels.json; train.py writes RUN/nlu)")
        labels = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
        network = JointIntentSlot(AutoModel.from_pretrained(folder / "encoder"), labels["intents"], labels["tags"])
        heads = load_file(folder / "heads.safetensors")
        network.intent_head.load_state_dict({k[7:]: v for k, v in heads.items() if k.startswith("intent.")})
        network.tag_head.load_state_dict({k[4:]: v for k, v in heads.items() if k.startswith("tag.")})
        return cls(network, AutoTokenizer.from_pretrained(folder / "encoder"))
