"""Training throughput (audio seconds per wall second): vasr's step vs the reference recipe's HF Trainer.

python bench/throughput.py [--quick]   ->  RESULT throughput <vasr / reference at equal settings: fp32, both
                                           with the recipe's gradient checkpointing>

Both train the same tiny wav2vec2 (conf/model/tiny.yaml), on the same demo-corpus utterances,
at batch size 16, on the CPU, for the same number of optimizer steps, in this one process.
The reference is the HF recipe: audio decoded up front into Python lists, a collator that pads
with ``processor.pad``, ``Trainer`` grouping by length (``group_by_length``, since transformers 5
``train_sampling_strategy="group_by_length"``) and gradient checkpointing, as the recipe sets it;
vasr is timed with the same gradient checkpointing (the RESULT) and both are timed without it, so
every ratio printed compares equal settings; bf16 autocast on both is printed beside.
Needs ``pip install -e ".[bench]"``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import lightning as L
import numpy as np
import soundfile as sf
import torch
from omegaconf import OmegaConf
from transformers import Trainer, TrainingArguments, get_scheduler

from vasr.data.datamodule import SpeechDataModule
from vasr.data.manifest import read_manifest
from vasr.model.build import build_from_config
from vasr.model.export import processor_for
from vasr.model.module import CTCModule
from vasr.text.vocab import PAD, build_vocab, tokenizer_for


def tiny_model(vocab):
    torch.manual_seed(0)
    return build_from_config(OmegaConf.to_container(OmegaConf.load("conf/model/tiny.yaml").architecture), vocab, PAD)


def run_vasr(
    model,
    items,
    tokenizer,
    precision: str,
    checkpointing: bool = False,
    accelerator: str = "cpu",
    freeze: bool = False,
    fused: bool = False,
    epochs: int = 1,
    callbacks: Sequence[L.Callback] = (),
    check_finite_loss: bool = True,
    gradient_clip_val: float | None = 1.0,
    **loader,
) -> float:
    """Audio seconds per second of ``epochs`` epochs over ``items`` through vasr's DataModule and LightningModule.

    Gradients are clipped at norm 1.0 by default, as ``conf/trainer`` and the recipe's HF Trainer do.
    """
    optimizer = partial(torch.optim.AdamW, lr=1e-3, weight_decay=0.005, fused=fused or None)
    scheduler = partial(get_scheduler, "linear", num_warmup_steps=10)
    module = CTCModule(
        model,
        tokenizer,
        optimizer,
        scheduler,
        freeze_feature_encoder=freeze,
        gradient_checkpointing=checkpointing,
        check_finite_loss=check_finite_loss,
    )
    dm = SpeechDataModule({"train": items, "val": [], "test": []}, tokenizer, **loader)
    trainer = L.Trainer(
        max_epochs=epochs,
        gradient_clip_val=gradient_clip_val,
        callbacks=list(callbacks),
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        use_distributed_sampler=False,
        accelerator=accelerator,
        devices=1,
        precision=precision,
    )
    start = time.perf_counter()
    trainer.fit(module, dm)
    return epochs * sum(item.duration for item in items) / (time.perf_counter() - start)


@dataclass
class ReferenceCollator:
    """The reference recipe's DataCollatorCTCWithPadding."""

    processor: object

    def __call__(self, features):
        inputs = [{"input_values": f["input_values"]} for f in features]
        labels = [{"input_ids": f["labels"]} for f in features]
        batch = self.processor.pad(inputs, padding=True, return_tensors="pt")
        with_labels = self.processor.pad(labels=labels, padding=True, return_tensors="pt")
        batch["labels"] = with_labels["input_ids"].masked_fill(with_labels.attention_mask.ne(1), -100)
        return batch


def run_reference(
    model, items, tokenizer, steps: int, batch: int, precision: str = "fp32", checkpointing: bool = True
) -> float:
    """The reference recipe's HF Trainer: ``precision`` fp32, bf16 or fp16 (fp16 needs a GPU)."""
    processor = processor_for(tokenizer, model.config)
    # The reference maps the whole corpus into RAM as lists before training starts; that time counts.
    start = time.perf_counter()
    data = []
    for item in items:
        audio, _ = sf.read(item.path, dtype="float32")
        values = processor(audio, sampling_rate=16000).input_values[0]
        data.append(
            {
                "input_values": np.asarray(values).tolist(),
                "labels": tokenizer(item.text).input_ids,
                "input_length": len(values),
            }
        )
    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(
            output_dir=tmp,
            per_device_train_batch_size=batch,
            train_sampling_strategy="group_by_length",
            max_steps=steps,
            learning_rate=1e-3,
            warmup_steps=10,
            weight_decay=0.005,
            save_strategy="no",
            report_to=[],
            use_cpu=not torch.cuda.is_available(),
            bf16=precision == "bf16",
            fp16=precision == "fp16",
            gradient_checkpointing=checkpointing,
            logging_steps=10**9,
            dataloader_num_workers=0,
            disable_tqdm=True,
        )
        trainer = Trainer(
            model=model,
            args=args,
            data_collator=ReferenceCollator(processor),
            train_dataset=data,
            processing_class=processor,
        )
        trainer.train()
    # items are exactly steps x batch utterances: both sides train on each once, so the audio is the same.
    return sum(len(d["input_values"]) for d in data) / 16000 / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()
    steps = 10 if args.quick else 40
    items, _ = read_manifest("data/demo/manifest.jsonl", "data/demo/audio")
    items = items[: steps * args.batch_size]
    vocab = build_vocab("corpus", (i.text for i in items))
    tokenizer = tokenizer_for(vocab)
    # The reference recipe's fp16 needs a GPU: on this CPU it runs in fp32 unless told bf16=True.
    common = (items, tokenizer, steps, args.batch_size)
    batch = {"batch_size": args.batch_size}
    rows = {
        "reference fp32, grad checkpointing (the recipe)": run_reference(tiny_model(vocab), *common),
        "vasr 32-true, grad checkpointing": run_vasr(tiny_model(vocab), items, tokenizer, "32-true", True, **batch),
        "reference fp32": run_reference(tiny_model(vocab), *common, checkpointing=False),
        "vasr 32-true": run_vasr(tiny_model(vocab), items, tokenizer, "32-true", **batch),
        "reference bf16": run_reference(tiny_model(vocab), *common, "bf16", checkpointing=False),
        "vasr bf16-mixed": run_vasr(tiny_model(vocab), items, tokenizer, "bf16-mixed", **batch),
    }
    for name, value in rows.items():
        print(f"{name:50s} {value:7.1f} audio s / s")
    ref, ours, ref_plain, ours_plain, ref_bf16, ours_bf16 = rows.values()
    print(
        f"vasr / reference at equal settings: fp32 with grad checkpointing {ours / ref:.3f}x, "
        f"fp32 without {ours_plain / ref_plain:.3f}x, bf16 without {ours_bf16 / ref_bf16:.3f}x"
    )
    print(f"RESULT throughput {ours / ref:.3f}")


if __name__ == "__main__":
    main()
