import pytest
import soundfile as sf
import soxr

from tests.prepare.conftest import prepared
from vasr.audio import load_audio
from vasr.prepare import prepare

HEADER = "client_id\tpath\tsentence_id\tsentence\tsentence_domain\tup_votes\tdown_votes\tage\tgender\taccents\tlocale"
pytestmark = pytest.mark.skipif("MP3" not in sf.available_formats(), reason="this libsndfile (< 1.1) has no MP3")


def test_common_voice_tsv_and_mp3_clips_become_manifests(utterances, tmp_path):
    root = tmp_path / "cv-corpus" / "vi"
    (root / "clips").mkdir(parents=True)
    for split, chunk in (("train", utterances[:4]), ("dev", utterances[4:6]), ("test", utterances[6:8])):
        rows = [HEADER]
        for n, u in enumerate(chunk):
            audio, rate = sf.read(u["wav"], dtype="float32")
            name = f"common_voice_vi_{split}{n}.mp3"
            sf.write(root / "clips" / name, soxr.resample(audio, rate, 48000), 48000, format="MP3")
            # an empty field at the end of the line (no locale) must not shift the columns
            rows.append(f"client{n % 2}\t{name}\tsid{n}\t{u['sentence']}\t\t2\t0\ttwenties\t\t\t{'vi' if n else ''}")
        (root / f"{split}.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    prepare("common_voice", tmp_path / "cv-corpus", out)
    train = prepared(out, "train")
    assert [line["id"] for line in train] == [f"common_voice_vi_train{n}" for n in range(4)]
    assert [line["sentence"] for line in train] == [u["sentence"] for u in utterances[:4]]
    assert (train[1]["speaker"], train[1]["up_votes"], train[1]["locale"]) == ("client1", "2", "vi")
    assert "locale" not in train[0] and "gender" not in train[0]  # empty fields are left out
    original = sf.info(utterances[0]["wav"]).duration
    assert train[0]["duration"] == pytest.approx(original, abs=0.1)  # from the MP3's header
    assert load_audio(train[0]["file"]).shape[0] == pytest.approx(original * 16000, abs=0.1 * 16000)
    assert len(prepared(out, "dev")) == len(prepared(out, "test")) == 2
