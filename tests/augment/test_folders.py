import logging

import numpy as np
import pytest
import soundfile as sf

from vasr.audio import SAMPLE_RATE
from vasr.augment import NoiseFolder, RirFolder
from vasr.augment.transforms import power


def noise_folder(tmp_path):
    folder = tmp_path / "noise" / "sub"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    sf.write(folder / "stereo44k.wav", rng.uniform(-0.5, 0.5, (44100 * 3, 2)).astype(np.float32), 44100)
    sf.write(folder / "short.flac", rng.uniform(-0.5, 0.5, 1600).astype(np.float32), SAMPLE_RATE)
    (folder / "corrupt.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEnot audio at all")
    sf.write(tmp_path / "truncated.wav", rng.uniform(-0.5, 0.5, SAMPLE_RATE).astype(np.float32), SAMPLE_RATE)
    data = (tmp_path / "truncated.wav").read_bytes()
    (folder / "truncated.wav").write_bytes(data[: len(data) // 2])
    (folder / "notes.txt").write_text("not a sound file")
    return tmp_path / "noise"


def test_noise_folder_reads_any_rate_and_channels_loops_short_files_skips_bad_ones(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="vasr"):
        source = NoiseFolder(str(noise_folder(tmp_path)))
    assert sorted(f.path.rsplit("/", 1)[1] for f in source.files) == ["short.flac", "stereo44k.wav"]
    named = [r.getMessage() for r in caplog.records]
    assert sum("corrupt.wav" in m for m in named) == 1 and sum("truncated.wav" in m for m in named) == 1
    rng = np.random.default_rng(3)
    draws = [source.draw(rng, 5 * SAMPLE_RATE) for _ in range(20)]  # longer than either file
    assert all(d.shape == (5 * SAMPLE_RATE,) and d.dtype == np.float32 and power(d) > 0 for d in draws)


def test_a_noise_file_that_breaks_after_the_scan_is_named_once_and_silent(tmp_path, caplog):
    source = NoiseFolder(str(noise_folder(tmp_path)))
    for file in source.files:
        (tmp_path / "noise" / "sub" / file.path.rsplit("/", 1)[1]).write_bytes(b"gone")
    rng = np.random.default_rng(0)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="vasr"):
        draws = [source.draw(rng, SAMPLE_RATE) for _ in range(10)]
    assert all(not d.any() for d in draws)
    assert sorted(r.getMessage().split()[3].rsplit("/", 1)[1] for r in caplog.records) == [
        "short.flac",
        "stereo44k.wav",
    ]


def test_an_empty_or_missing_folder_is_a_named_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty"):
        NoiseFolder(str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError, match="missing"):
        RirFolder(str(tmp_path / "missing"))


def test_rir_folder_keeps_the_first_channel_resampled(tmp_path):
    response = np.zeros((8000, 2), np.float32)
    response[0, 0], response[100, 1] = 1.0, 1.0
    (tmp_path / "rirs").mkdir()
    sf.write(tmp_path / "rirs" / "room.wav", response, 8000)
    drawn = RirFolder(str(tmp_path / "rirs")).draw(np.random.default_rng(0))
    assert drawn.size == 16000 and np.argmax(np.abs(drawn)) < 10  # channel 0's direct path, at 16 kHz
