import shutil

from tests.prepare.conftest import prepared
from vasr.prepare import prepare


def test_gigaspeech2_tsv_and_segments_become_manifests(utterances, tmp_path):
    root = tmp_path / "gigaspeech2" / "data" / "vi"
    for split, audio, chunk in (("train_refined", "train", utterances[:4]), ("test", "test", utterances[4:6])):
        rows = []
        for n, u in enumerate(chunk):
            segment = f"{n // 2}-{700 + n}-{n}"
            folder = root / audio / str(n // 2) / str(700 + n)
            folder.mkdir(parents=True)
            shutil.copy(u["wav"], folder / f"{segment}.wav")
            rows.append(f"{segment}\t{u['sentence']}")
        (root / f"{split}.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    reports = prepare("gigaspeech2", tmp_path / "gigaspeech2", out)
    assert set(reports) == {"train_refined", "test"}
    train = prepared(out, "train_refined")
    assert [line["id"] for line in train] == ["0-700-0", "0-701-1", "1-702-2", "1-703-3"]
    assert train[2]["file"].endswith("/train/1/702/1-702-2.wav")
    assert [line["sentence"] for line in train] == [u["sentence"] for u in utterances[:4]]
