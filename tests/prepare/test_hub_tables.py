import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.prepare.conftest import prepared
from vasr.data.manifest import ManifestError
from vasr.prepare import prepare
from vasr.prepare.layout import Options

AUDIO = pa.struct([("bytes", pa.binary()), ("path", pa.string())])


def hub_table(path, utterances, text="transcription", **columns) -> None:
    """A Parquet file as the hub keeps a ``datasets.Audio`` column: encoded bytes, no path (Bud500's rows)."""
    audio = [{"bytes": u["wav"].read_bytes(), "path": None} for u in utterances]
    path.parent.mkdir(parents=True, exist_ok=True)
    table = {"audio": pa.array(audio, AUDIO), text: [u["sentence"] for u in utterances]}
    pq.write_table(pa.table(table | columns), path)


@pytest.mark.parametrize("name", ["lsvsc", "bud500"])
def test_hub_parquet_splits_become_manifests_with_their_audio_written_out(name, utterances, tmp_path):
    data = tmp_path / name / "data"
    hub_table(data / "train-00000-of-00002.parquet", utterances[:3], dialect=["north", "south", "central"])
    hub_table(data / "train-00001-of-00002.parquet", utterances[3:5], dialect=["north", "south"])
    hub_table(data / "test-00000-of-00001.parquet", utterances[5:7], dialect=["north", "south"])
    out = tmp_path / "out"
    assert set(prepare(name, tmp_path / name, out)) == {"train", "test"}
    train = prepared(out, "train")
    assert [line["id"] for line in train][2:4] == ["train-00000-of-00002-000003", "train-00001-of-00002-000001"]
    assert [line["sentence"] for line in train] == [u["sentence"] for u in utterances[:5]]
    assert train[1]["dialect"] == "south" and train[0]["file"].startswith(str(out / "audio" / "train"))
    written = out / "audio" / "train" / "train-00000-of-00002-000001.wav"
    assert written.read_bytes() == utterances[0]["wav"].read_bytes()  # stored as it is, suffix from its magic


def test_other_column_names_are_named_on_the_command_line(utterances, tmp_path):
    hub_table(tmp_path / "src" / "train.parquet", utterances[:2], text="text_vi")
    with pytest.raises(ManifestError, match=r"no text column 'transcription' \(columns: audio, text_vi\)"):
        prepare("bud500", tmp_path / "src", tmp_path / "out")
    prepare("bud500", tmp_path / "src", tmp_path / "out", Options(text_column="text_vi"))
    assert len(prepared(tmp_path / "out", "train")) == 2
