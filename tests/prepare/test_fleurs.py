import shutil

import soundfile as sf

from tests.prepare.conftest import prepared
from vasr.prepare import prepare


def fleurs_row(n: int, u: dict) -> str:
    """id, file name, raw transcription, transcription, characters, samples, gender (no header)."""
    text = u["sentence"]
    chars = " ".join("|".join(text.lower().split())) + " |"
    return f"{1000 + n // 2}\t{n}.wav\t{text}\t{text.lower()}\t{chars}\t{sf.info(u['wav']).frames}\tFEMALE"


def test_fleurs_tsv_and_audio_become_manifests(utterances, tmp_path):
    root = tmp_path / "fleurs" / "vi_vn"
    for split, chunk in (("train", utterances[:4]), ("dev", utterances[4:6]), ("test", utterances[6:8])):
        (root / "audio" / split).mkdir(parents=True)
        for n, u in enumerate(chunk):
            shutil.copy(u["wav"], root / "audio" / split / f"{n}.wav")
        rows = [fleurs_row(n, u) for n, u in enumerate(chunk)]
        (root / f"{split}.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    prepare("fleurs", tmp_path / "fleurs", out)
    train = prepared(out, "train")
    assert [line["id"] for line in train] == ["0", "1", "2", "3"]  # file names: the FLEURS id repeats
    assert [line["fleurs_id"] for line in train] == ["1000", "1000", "1001", "1001"]
    assert train[0]["sentence"] == utterances[0]["sentence"]  # the raw transcription
    assert train[0]["transcription"] == utterances[0]["sentence"].lower() and train[0]["gender"] == "FEMALE"
    assert len(prepared(out, "test")) == 2
