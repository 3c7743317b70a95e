"""Intents and entities of a finished run, measured: from gold text, from its ASR, with and without ASR-like noise.

python bench/slu.py RUN_DIR [--noise 0,0.1] [--out DIR]
    ->  slu.md / slu.csv in --out (default RUN_DIR) and
        RESULT slu_noise <SLU-F1 of the ASR + LM + ITN reading of the test split, last noise / first>

RUN_DIR is a finished ``python train.py`` run (its export, split, predictions.jsonl and config). For each
``word_noise`` the run's NLU model (``conf/nlu`` as the run configured it) is trained again on its training
split's text, then scored on:
- the run's 300 held-out test utterances read three ways: gold text, the run's greedy transcripts and its
  transcripts with the n-gram LM (``predictions.jsonl``), both through the ITN;
- bench/phrasing.py's 40 requests written by hand in phrasings the templates do not produce (annotated there),
  as gold text and as the run's export hears them (synthesised with other voices), greedy and with the LM.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from common import write_table
from omegaconf import OmegaConf
from phrasing import PHRASINGS, SENTENCES

from vasr.data.manifest import read_manifest
from vasr.decoding.beam import BeamDecoder
from vasr.decoding.ctc import greedy_transcripts
from vasr.infer.posteriors import posteriors
from vasr.model.export import load_for_inference
from vasr.recipe.nlu import READING_NAMES, corpus_examples, score_readings, train_nlu
from vasr.recipe.run_folder import RunFolder
from vasr.slu.data import check_line, tagged_words
from vasr.slu.metrics import slu_scores
from vasr.synth import write_corpus
from vasr.text.itn import inverse_normalize


def phrasing_readings(export: Path, seed: int = 2024) -> tuple[list, dict[str, list[str]]]:
    """The hand-written requests' gold examples, and their texts as gold, greedy + ITN and LM + ITN."""
    gold = []
    for index, ((intent, annotation), sentence) in enumerate(zip(PHRASINGS, SENTENCES, strict=True)):
        entities = [{"type": kind, "filler": filler} for kind, filler in tagged_words(annotation)[2]]
        record = {"id": str(index), "sentence": sentence, "intent": intent, "sentence_annotation": annotation}
        gold.append(check_line(record | {"entities": entities}))
    with tempfile.TemporaryDirectory() as tmp:
        manifest = write_corpus(tmp, len(SENTENCES), seed=seed, text=SENTENCES)
        items, _ = read_manifest(manifest, Path(tmp) / "audio", numbers="verbalize")
        model, tokenizer = load_for_inference(export)
        log_probs, _ = posteriors(model, tokenizer, items)
    texts = {"gold": [" ".join(e.words) for e in gold], "greedy+itn": greedy_transcripts(tokenizer, log_probs)}
    if (lm := BeamDecoder.load(export, tokenizer)) is not None:
        texts["lm+itn"] = lm.decode(log_probs)
    return gold, {k: v if k == "gold" else [inverse_normalize(t) for t in v] for k, v in texts.items()}


def split_ids(run: RunFolder) -> dict[str, list[str]]:
    """The utterance ids of each of the run's splits (``RUN/split/*.jsonl``)."""
    return {
        name: [
            json.loads(line)["id"] for line in (run.split / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
        ]
        for name in ("train", "val", "test")
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a finished run folder (runs/train/NAME)")
    parser.add_argument("--noise", default="0,0.1", help="comma-separated word_noise values to train with")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    run = RunFolder(args.run)
    cfg = OmegaConf.load(run.config)
    examples = corpus_examples(cfg.data, split_ids(run))
    phrasing_gold, phrasing_texts = phrasing_readings(run.export)
    rows = []
    for noise in (float(n) for n in args.noise.split(",")):
        cfg.nlu.word_noise = noise
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            nlu = train_nlu(cfg.nlu, examples, RunFolder(Path(tmp)), cfg.seed)
        seconds = time.perf_counter() - started
        test = score_readings(nlu, examples["test"], run.predictions)
        phrasings = {k: slu_scores([e.frame for e in phrasing_gold], nlu.predict(v)) for k, v in phrasing_texts.items()}
        for corpus, scores in (("demo test split", test), ("hand-written phrasings", phrasings)):
            for reading, s in scores.items():
                rows.append(
                    {
                        "word noise": noise,
                        "texts": corpus,
                        "reading": READING_NAMES[reading],
                        "intent accuracy": s["intent_accuracy"],
                        "entity F1": s["entity"]["f1"],
                        "SLU-F1": s["slu_f1"],
                        "fit s": seconds,
                    }
                )
                print(rows[-1], flush=True)
    write_table(rows, args.out or run.root, "slu", cell)
    lm = [r["SLU-F1"] for r in rows if r["texts"] == "demo test split" and r["reading"] == READING_NAMES["lm+itn"]]
    print(f"RESULT slu_noise {lm[-1] / lm[0]:.4f}")


def cell(key: str, value) -> str:
    if not isinstance(value, float):
        return str(value)
    return f"{value:.3g}" if key in ("word noise", "fit s") else f"{value:.1%}"


if __name__ == "__main__":
    main()
