"""The NLU step of a run: the joint intent/slot model trained on the corpus's annotations, then the test split
read three ways (gold text, greedy ASR and ASR with the LM, both through the ITN) so the loss due to
recognition shows."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path

import lightning as L
from hydra.utils import instantiate
from omegaconf import DictConfig

from vasr.recipe.loggers import ResumableCSVLogger
from vasr.recipe.run_folder import RunFolder
from vasr.slu.data import Example, read_examples
from vasr.slu.datamodule import NluDataModule
from vasr.slu.metrics import slu_scores
from vasr.slu.model import JointIntentSlot, NluModel
from vasr.slu.module import NluModule
from vasr.slu.schema import OUTSIDE, SOICT_ENTITY_TYPES, SOICT_INTENTS
from vasr.text.itn import inverse_normalize

log = logging.getLogger("vasr")
READINGS = {"gold": None, "greedy+itn": "hypothesis", "lm+itn": "lm_hypothesis"}  # reading -> predictions key
READING_NAMES = {"gold": "gold text", "greedy+itn": "greedy ASR + ITN", "lm+itn": "ASR + LM + ITN"}


def corpus_examples(data: DictConfig, ids: dict[str, Iterable[str]]) -> dict[str, list[Example]] | None:
    """The SLU examples of each named list of utterance ids (a run's splits, an evaluation's items), from the
    manifests of ``data``; None when the corpus has none."""
    found: dict[str, Example] = {}
    for manifest in (data.manifest, data.get("val_manifest"), data.get("test_manifest")):
        if manifest:
            examples, skipped = read_examples(manifest, skip_bad=data.skip_bad)
            if skipped:
                log.warning("NLU: skipped %d lines of %s: %s", sum(skipped.values()), manifest, dict(skipped))
            found |= examples
    if not found:
        return None
    return {name: [found[uid] for uid in uids if uid in found] for name, uids in ids.items()}


def train_nlu(cfg: DictConfig, examples: dict[str, list[Example]], run: RunFolder, seed: int) -> NluModel:
    """Fit the joint model of ``cfg`` (``conf/nlu``) on the train split's text, scored on val each epoch;
    saved in ``RUN/nlu``."""
    train = examples["train"]
    L.seed_everything(seed)  # the encoder's initial weights and the noise: the same model from the same run
    intents = sorted(set(SOICT_INTENTS) | {e.frame.intent for e in train})
    tags = [OUTSIDE, *(f"{p}-{t}" for t in SOICT_ENTITY_TYPES for p in ("B", "I"))]
    encoder, tokenizer = instantiate(cfg.encoder)(texts=[" ".join(e.words) for e in train])
    network = JointIntentSlot(encoder, intents, tags)
    module = NluModule(network, tokenizer, examples["val"], lr=cfg.lr, weight_decay=cfg.weight_decay)
    datamodule = NluDataModule(train, tokenizer, intents, tags, cfg.batch_size, cfg.word_noise, seed)
    trainer = L.Trainer(
        max_epochs=cfg.max_epochs,
        accelerator=cfg.accelerator,
        devices=1,
        logger=ResumableCSVLogger(run.nlu),
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        reload_dataloaders_every_n_epochs=1,  # a new noise draw each epoch
        default_root_dir=run.nlu,
    )
    log.info(
        "NLU: %d training sentences, %d intents, %d tags, word noise %g",
        len(train),
        len(intents),
        len(tags),
        cfg.word_noise,
    )
    trainer.fit(module, datamodule)
    nlu = NluModel(network, tokenizer)
    nlu.save(run.nlu)
    return nlu


def score_readings(nlu: NluModel, test: list[Example], predictions: Path | None) -> dict[str, dict]:
    """SLU scores of the test split from gold text, and from the ASR's greedy and LM transcripts (``predictions``,
    one JSON line per utterance) through the ITN; none, said in one line, when the split has no utterances."""
    if not test:
        log.info("NLU: no test utterances with intents and entities: nothing to score")
        return {}
    hypotheses: dict[str, dict] = {}
    if predictions is not None and predictions.exists():
        hypotheses = {row["id"]: row for row in map(json.loads, predictions.read_text(encoding="utf-8").splitlines())}
    gold = [e.frame for e in test]
    found = {}
    for name, key in READINGS.items():
        if key is None:
            texts = [" ".join(e.words) for e in test]
        elif all(key in hypotheses.get(e.id, {}) for e in test):
            texts = [inverse_normalize(hypotheses[e.id][key]) for e in test]
        else:
            continue
        found[name] = slu_scores(gold, nlu.predict(texts))
    return found


def slu_results(scores: dict[str, dict]) -> dict[str, float]:
    """The headline figures of each reading, as results.json keys."""
    return {
        f"slu/{reading}/{name}": value
        for reading, s in scores.items()
        for name, value in (
            ("intent_accuracy", s["intent_accuracy"]),
            ("entity_f1", s["entity"]["f1"]),
            ("slu_f1", s["slu_f1"]),
        )
    }
