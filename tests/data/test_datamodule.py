import numpy as np

from vasr.data.datamodule import SpeechDataModule
from vasr.data.splits import load_splits, write_splits
from vasr.text.vocab import build_vocab, make_tokenizer, save_vocab


def test_split_is_seeded_disjoint_and_written(corpus, tmp_path):
    splits, _ = load_splits(corpus / "manifest.jsonl", corpus / "audio", val_ratio=0.25, test_ratio=0.25, seed=3)
    again, _ = load_splits(corpus / "manifest.jsonl", corpus / "audio", val_ratio=0.25, test_ratio=0.25, seed=3)
    ids = {name: [i.id for i in items] for name, items in splits.items()}
    assert ids == {name: [i.id for i in items] for name, items in again.items()}
    assert [len(v) for v in ids.values()] == [12, 6, 6]
    assert len(set(sum(ids.values(), []))) == 24
    write_splits(splits, tmp_path)
    written = (tmp_path / "val.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(written) == 6
    # A written split is itself a manifest the next run can take as data.val_manifest.
    given, _ = load_splits(corpus / "manifest.jsonl", corpus / "audio", val_manifest=tmp_path / "val.jsonl")
    assert [i.id for i in given["val"]] == ids["val"]


def test_batches_are_streamed_standardised_and_tokenised(corpus, tmp_path):
    splits, _ = load_splits(corpus / "manifest.jsonl", corpus / "audio", val_ratio=0.25, test_ratio=0.25)
    tokenizer = make_tokenizer(save_vocab(build_vocab("corpus", (i.text for i in splits["train"])), tmp_path))
    dm = SpeechDataModule(splits, tokenizer, batch_size=4, eval_batch_size=3, num_workers=0)
    batches = list(dm.train_dataloader())
    assert sum(len(b["ids"]) for b in batches) == 12
    batch = batches[0]
    row = batch["input_values"][0, : batch["input_lengths"][0]].numpy()
    assert abs(row.mean()) < 1e-3 and np.isclose(row.std(), 1.0, atol=1e-2)
    item = {i.id: i for i in splits["train"]}[batch["ids"][0]]
    labels = batch["labels"][0][batch["labels"][0] >= 0].tolist()
    assert tokenizer.decode(labels, group_tokens=False) == item.text
    assert sum(len(b["ids"]) for b in dm.val_dataloader()) == 6
