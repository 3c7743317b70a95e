import logging
import shutil

import pytest

from tests.prepare.conftest import prepared
from vasr.data.manifest import ManifestError
from vasr.prepare import prepare


def vivos(root, utterances, broken: bool = False, sizes: tuple[int, int] = (6, 3)):
    """VIVOS's layout: train/ and test/, each prompts.txt, genders.txt and waves/SPEAKER/ID.wav."""
    train, test = sizes
    for split, chunk in (("train", utterances[:train]), ("test", utterances[train : train + test])):
        folder = root / "vivos" / split
        lines = []
        for n, u in enumerate(chunk):
            speaker = f"VIVOSSPK{n % 2 + 1:02d}"
            uid = f"{speaker}_R{n:03d}"
            (folder / "waves" / speaker).mkdir(parents=True, exist_ok=True)
            shutil.copy(u["wav"], folder / "waves" / speaker / f"{uid}.wav")
            lines.append(f"{uid} {u['sentence'].upper()}")
        if broken:
            lines += ["VIVOSSPK09_R999 NO AUDIO HERE", "VIVOSSPK01_R000 DUPLICATE"]
        (folder / "prompts.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (folder / "genders.txt").write_text("VIVOSSPK01 m\nVIVOSSPK02 f\n", encoding="utf-8")
    return root / "vivos"


def test_vivos_prompts_and_waves_become_manifests(utterances, tmp_path, caplog):
    out = tmp_path / "out"
    with caplog.at_level(logging.INFO, logger="vasr"):
        reports = prepare("vivos", vivos(tmp_path, utterances), out, every=4)
    assert set(reports) == {"train", "test"}
    assert "vivos train: 4 rows read, 4 kept" in caplog.messages and "vivos test: kept 3" in caplog.messages
    train = prepared(out, "train")
    assert [line["id"] for line in train][:2] == ["VIVOSSPK01_R000", "VIVOSSPK02_R001"]
    assert train[0]["sentence"] == utterances[0]["sentence"].upper()  # as the corpus writes it
    assert (train[0]["speaker"], train[0]["gender"], train[1]["gender"]) == ("VIVOSSPK01", "m", "f")
    assert len(prepared(out, "test")) == 3


def test_bad_rows_are_named_and_refused_or_skipped_and_counted(utterances, tmp_path):
    src = vivos(tmp_path, utterances, broken=True)
    with pytest.raises(ManifestError) as error:
        prepare("vivos", src, tmp_path / "out")
    message = str(error.value)
    assert f"{src / 'train' / 'prompts.txt'}:7: audio file missing" in message
    assert f"{src / 'train' / 'prompts.txt'}:8: duplicate id: VIVOSSPK01_R000" in message
    assert "--skip-bad" in message and not list((tmp_path / "out").glob("*.jsonl*"))  # nothing half-written
    reports = prepare("vivos", src, tmp_path / "out", skip_bad=True)
    assert reports["train"].kept == 6 and reports["train"].skipped == {"audio file missing": 1, "duplicate id": 1}
    assert "audio file missing" in (tmp_path / "out" / "prepare.json").read_text(encoding="utf-8")


def test_a_folder_in_another_layout_is_refused(tmp_path):
    with pytest.raises(ManifestError, match="no prompts.txt found"):
        prepare("vivos", tmp_path, tmp_path / "out")
