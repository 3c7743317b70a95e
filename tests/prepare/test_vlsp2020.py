import shutil

from tests.prepare.conftest import prepared
from vasr.prepare import prepare


def test_wav_and_txt_pairs_become_a_manifest_with_missing_transcripts_counted(utterances, tmp_path):
    src = tmp_path / "vlsp2020"
    (src / "batch1").mkdir(parents=True)
    for n, u in enumerate(utterances[:4]):
        shutil.copy(u["wav"], src / "batch1" / f"utt{n}.wav")
        if n != 3:  # one transcript lost
            (src / "batch1" / f"utt{n}.txt").write_text(u["sentence"] + "\n", encoding="utf-8")
    out = tmp_path / "out"
    reports = prepare("vlsp2020", src, out, skip_bad=True)
    assert reports["batch1"].skipped == {"transcript missing": 1}
    lines = prepared(out, "batch1")
    assert [line["id"] for line in lines] == ["utt0", "utt1", "utt2"]
    assert [line["sentence"] for line in lines] == [u["sentence"] for u in utterances[:3]]
