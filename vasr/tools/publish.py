"""``vasr-publish RUN_DIR DEST``: a run's exported model as a shippable folder with a model card.

The card is written from the run's own files (resolved config, split, results, the command's overrides),
so every figure in it is the one that run measured and every sentence says what the run did: a from-scratch
pretraining run (``experiment=pretrain_base``, vasr's shipped base) gets the card of a pretrained model, a
fine-tuning run one that names its base checkpoint, its corpus and its scores with and without the n-gram LM.
The metadata is huggingface_hub's (``ModelCardData``): the test scores become the hub's ``model-index``.
"""

from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import EvalResult, ModelCard, ModelCardData
from omegaconf import DictConfig, OmegaConf

from vasr import ASSETS
from vasr.model.export import HUB_ID
from vasr.model.family import Family
from vasr.recipe.plots import read_metrics
from vasr.recipe.run_folder import RunFolder
from vasr.text.syllables import inventory

CARD = """# {name}

vasr's own small pretrained Vietnamese wav2vec 2.0 CTC model: {parameters:,} parameters, trained from
scratch by vasr's code on Vietnamese speech that vasr synthesises offline with eSpeak NG. It exists so
the offline default run (`python train.py`) is a real fine-tuning run: feature encoder frozen, union
vocabulary with the `lm_head` rows mapped by token, exactly as users fine-tune the hub's checkpoints.
It has heard one synthesiser only; it is not a general Vietnamese recogniser.

## Data
- {utterances:,} synthetic utterances ({hours:.1f} h): {split}.
- Text (`vasr/synth/broad.py`, none of the demo's smart-home templates): syllables of the
  `wordfreq` package's Vietnamese list (real syllables only, frequencies flattened), `Faker` `vi_VN`
  names, addresses, jobs, companies and sentences, and numbers, dates and times spoken by
  `vasr.text.numbers`. The training text holds {syllables:,} distinct syllables, {onsets} onsets,
  {rhymes} rhymes and {tones} of the 6 tones.
- Speech: eSpeak NG (`espeakng-loader`) Vietnamese voices with seeded variants, rates 120-180 wpm,
  pitches, levels, silences and white noise at 25-50 dB SNR; 16 kHz mono.
- Targets: NFC, lower case, numbers spoken (`data.numbers=verbalize`).

## Training
- Architecture: wav2vec 2.0 with a {conv_layers}-layer convolutional feature encoder
  ({conv_dim}), {layers} transformer layers of width {hidden}; CTC over {vocab_size} tokens (every
  Vietnamese letter and tone-marked vowel, `|`, `[UNK]`, `[PAD]` as blank).
- {steps:,} optimizer steps (the weights are step {best_step:,}'s, the best validation WER),
  AdamW lr {lr} ({schedule} decay after {warmup} warm-up steps), batches of {max_seconds:g} s of
  padded audio, fp32.
- Wall time: {minutes:.0f} minutes of fitting on {machine}.
- Validation WER / CER by step: {curve}.

## Results (its own held-out test split, greedy decoding)
{results}

## Reproduce
```bash
python train.py experiment=pretrain_base            # writes runs/train/pretrain_base
vasr-publish runs/train/pretrain_base vasr/assets/{name} --name {name}
```
"""


FINE_TUNED_CARD = """# {name}

A `{architecture}` model (the `{model_type}` encoder family, CTC head) fine-tuned by vasr from {base}:
{parameters:,} parameters, {vocab_size} output tokens (`vocab={vocab}`). {decoder}

## Data
- {utterances:,} utterances ({hours:.1f} h): {split}.
- Augmentation of the training audio: {augment}.

## Training
- {steps:,} optimizer steps, AdamW lr {lr}, schedule `{schedule}`, {encoder};
  {minutes:.0f} minutes of fitting on {machine}.
- Validation WER / CER by step: {curve}.

## Results
{results}

## Reproduce
```bash
python train.py {overrides}
```
"""


@dataclass(frozen=True)
class Exported:
    """What the card says of the exported model, whatever its family: its transformers class, its family's
    ``model_type``, its size, and whether it has a convolutional feature encoder (w2v-BERT reads filter banks)."""

    architecture: str
    model_type: str
    parameters: int
    feature_encoder: bool

    @classmethod
    def of(cls, folder: Path) -> Exported:
        from transformers import AutoModelForCTC

        model = AutoModelForCTC.from_pretrained(folder)
        count = sum(p.numel() for p in model.parameters())
        return cls(type(model).__name__, model.config.model_type, count, Family.has_feature_encoder(model))

    def encoder(self, frozen: bool) -> str:
        """The training line's words on the feature encoder."""
        if not self.feature_encoder:
            return "no convolutional feature encoder (filter-bank input)"
        return f"feature encoder {'frozen' if frozen else 'trained'}"


def validation_curve(metrics_csv: Path) -> str:
    """ "1,000: 81.1% / 37.7%; 2,000: ..." from metrics.csv (the last row wins where a resume repeated a step)."""
    series = read_metrics(metrics_csv)
    wer, cer = (dict(series.get(name, [])) for name in ("val/wer", "val/cer"))
    return "; ".join(f"{int(step) + 1:,}: {w:.1%} / {cer[step]:.1%}" for step, w in sorted(wer.items())) or "none"


def read_split(run: Path) -> dict[str, list[dict]]:
    folder = RunFolder(run).split
    return {
        part: [json.loads(line) for line in (folder / f"{part}.jsonl").read_text(encoding="utf-8").splitlines()]
        for part in ("train", "val", "test")
    }


# (results.json key, what the model-index calls it, the card's row): the test scores a run reports
TEST_SCORES = (
    ("test/wer", "wer", "Test WER (greedy)"),
    ("test/cer", "cer", "Test CER (greedy)"),
    ("test/lm_wer", "wer", "Test WER (beam search + n-gram LM)"),
    ("test/lm_cer", "cer", "Test CER (beam search + n-gram LM)"),
)


def split_description(cfg: DictConfig, split: dict[str, list[dict]]) -> str:
    """How the run's train/val/test came about, as ``data`` configured it: one manifest split by seed, or the
    manifests given for val and test (``load_splits``)."""
    data = cfg.data
    sizes = {part: f"{len(items):,} {part}" for part, items in split.items()}
    manifest = f" of `{data.manifest}`" if data.get("manifest") else ""
    if data.get("val_manifest") is None and data.get("test_manifest") is None:
        return f"{', '.join(sizes.values())}, a seeded split (seed {cfg.seed}){manifest}"
    parts = [f"{sizes['train']} from `{data.manifest}`"]
    for part in ("val", "test"):
        path = data.get(f"{part}_manifest")
        parts.append(f"{sizes[part]} from `{path}`" if path else f"no {part} split")
    return ", ".join(parts)


def base_model(cfg: DictConfig) -> tuple[str | None, str]:
    """The hub id the card's ``base_model`` may name (None for a local folder), and the base as the text names it."""
    pretrained = str(cfg.model.pretrained)
    if Path(pretrained).parent.resolve() == ASSETS.resolve():
        name = Path(pretrained).name
        return None, f"vasr's shipped `{name}` (`vasr/assets/{name}`, not on the hub)"
    if not Path(pretrained).exists() and HUB_ID.fullmatch(pretrained):
        return pretrained, f"`{pretrained}`"
    return None, f"a local checkpoint (`{Path(pretrained).name}`, not on the hub)"


def card_data(
    cfg: DictConfig, results: dict, name: str, base: str | None, test_size: int, model_type: str
) -> ModelCardData:
    """The card's metadata, its test scores as ``eval_results`` (the hub's ``model-index``), tagged with the
    model's family (``model_type``)."""
    dataset = str(cfg.data.get("name") or "vasr")
    scores = [
        EvalResult(
            task_type="automatic-speech-recognition",
            task_name="Speech Recognition",
            dataset_type=dataset,
            dataset_name=f"{dataset} (its held-out test split, {test_size} utterances)",
            dataset_split="test",
            metric_type=metric,
            metric_name=label,
            metric_value=round(float(results[key]), 4),
        )
        for key, metric, label in TEST_SCORES
        if key in results
    ]
    tags = [model_type, "ctc", "vasr"] + ([] if cfg.model.get("pretrained") else ["synthetic-speech"])
    return ModelCardData(
        language="vi",
        library_name="transformers",
        pipeline_tag="automatic-speech-recognition",
        tags=tags,
        base_model=base,
        model_name=name,
        eval_results=scores or None,
    )


def results_table(results: dict, test_size: int) -> str:
    """The test scores as a table, or the sentence that says the run held no test split."""
    rows = [f"| {label} | {results[key]:.1%} |" for key, _, label in TEST_SCORES if key in results]
    if not rows:
        return "The run held no test split (score it apart: `vasr-evaluate model_path=FOLDER data=...`)."
    return "\n".join(
        [f"On its held-out test split ({test_size} utterances):", "", "| metric | value |", "|---|---|", *rows]
    )


def fine_tuned_card(run: Path, name: str, machine: str) -> ModelCard:
    """The card of a fine-tuning run: base checkpoint, corpus, augmentation, schedule, greedy and LM scores."""
    cfg = OmegaConf.load(RunFolder(run).config)
    results = json.loads((run / "results.json").read_text())
    split = read_split(run)
    has_lm = (RunFolder(run).export / "language_model").is_dir()
    overrides = run / ".hydra" / "overrides.yaml"
    augment = cfg.get("augment")
    hub_id, base = base_model(cfg)
    exported = Exported.of(RunFolder(run).export)
    body = FINE_TUNED_CARD.format(
        name=name,
        architecture=exported.architecture,
        model_type=exported.model_type,
        base=base,
        parameters=exported.parameters,
        vocab_size=len(json.loads((run / "vocab.json").read_text(encoding="utf-8"))),
        vocab=cfg.vocab.strategy,
        decoder="It ships its n-gram LM and tuned weights in `language_model/` (pyctcdecode's layout)."
        if has_lm
        else "Greedy decoding (no language model shipped).",
        utterances=sum(len(items) for items in split.values()),
        hours=sum(item["duration"] for items in split.values() for item in items) / 3600,
        split=split_description(cfg, split),
        augment=(
            f"speeds {list(augment.speeds)}, rooms p {augment.reverb.p if augment.get('reverb') else 0}, "
            f"noise p {augment.noise.p if augment.get('noise') else 0}"
            if augment
            else "none"
        ),
        steps=int(results["steps"]),
        lr=cfg.model.optimizer.lr,
        schedule=cfg.model.scheduler.get("name") or cfg.model.scheduler._target_,
        encoder=exported.encoder(bool(cfg.model.get("freeze_feature_encoder"))),
        minutes=results["fit_seconds"] / 60,
        machine=machine,
        curve=validation_curve(RunFolder(run).metrics_csv),
        results=results_table(results, len(split["test"])),
        overrides=" ".join(OmegaConf.load(overrides)) if overrides.exists() else "",
    )
    return with_metadata(card_data(cfg, results, name, hub_id, len(split["test"]), exported.model_type), body)


def with_metadata(data: ModelCardData, body: str) -> ModelCard:
    return ModelCard(f"---\n{data.to_yaml()}\n---\n{body}")


def model_card(run: Path, name: str, machine: str) -> ModelCard:
    """The card from the run folder's config, split and results."""
    cfg = OmegaConf.load(RunFolder(run).config)
    if cfg.model.get("pretrained"):
        return fine_tuned_card(run, name, machine)
    results = json.loads((run / "results.json").read_text())
    split = read_split(run)
    found = inventory(item["sentence"] for item in split["train"])
    architecture = cfg.model.architecture
    exported = Exported.of(run / "export")
    vocab = json.loads((run / "vocab.json").read_text(encoding="utf-8"))
    body = CARD.format(
        name=name,
        parameters=exported.parameters,
        utterances=sum(len(items) for items in split.values()),
        hours=sum(item["duration"] for items in split.values() for item in items) / 3600,
        split=split_description(cfg, split),
        syllables=len(found["syllables"]),
        onsets=len(found["onsets"]),
        rhymes=len(found["rhymes"]),
        tones=len(found["tones"]),
        conv_layers=len(architecture.conv_dim),
        conv_dim=", ".join(map(str, architecture.conv_dim)),
        layers=architecture.num_hidden_layers,
        hidden=architecture.hidden_size,
        vocab_size=len(vocab),
        steps=int(results["steps"]),
        best_step=max(
            int(p.stem.removeprefix("best-step")) for p in RunFolder(run).checkpoints.glob("best-step*.ckpt")
        ),
        lr=cfg.model.optimizer.lr,
        schedule=cfg.model.scheduler.name,
        warmup=cfg.model.scheduler.num_warmup_steps,
        max_seconds=cfg.data.loader.max_seconds,
        minutes=results["fit_seconds"] / 60,
        machine=machine,
        curve=validation_curve(RunFolder(run).metrics_csv),
        results=results_table(results, len(split["test"])),
    )
    return with_metadata(card_data(cfg, results, name, None, len(split["test"]), exported.model_type), body)


def publish(run: str | Path, dest: str | Path, machine: str = "2 CPU cores", name: str | None = None) -> Path:
    """Copy ``RUN/export`` (model, processor, vocab.json, LM) to ``dest`` and write its README.md model card,
    titled ``name`` (default: the run's name)."""
    run, dest = Path(run), Path(dest)
    export = RunFolder(run).export
    if not export.is_dir():
        raise FileNotFoundError(f"{export} not found: the run has not finished (no exported model yet)")
    title = name or str(OmegaConf.load(RunFolder(run).config).get("run_name") or run.name)
    card = model_card(run, title, machine)
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(export, dest)
    card.save(dest / "README.md")
    return dest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="vasr-publish", description=__doc__)
    parser.add_argument("run", help="a finished run folder (runs/train/NAME)")
    parser.add_argument("dest", help="the folder to write, e.g. vasr/assets/vasr-tiny-vi")
    parser.add_argument("--machine", default="2 CPU cores", help="what it trained on, for the card")
    parser.add_argument("--name", help="the model's name: the card's title and model-index (default: the run's name)")
    args = parser.parse_args(argv)
    print(f"published {publish(args.run, args.dest, args.machine, args.name)}")


if __name__ == "__main__":
    main()
