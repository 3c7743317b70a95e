import io

import numpy as np
import pytest
import soundfile as sf

from vasr.audio import decode_audio, load_audio, pcm16_wav


def wav_bytes(samples: np.ndarray, subtype: str, rate: int = 16000) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype=subtype)
    return buffer.getvalue()


@pytest.mark.parametrize("channels", [1, 2])
def test_16_bit_wav_bytes_decode_as_soundfile_reads_them(channels):
    samples = (0.3 * np.random.default_rng(channels).standard_normal((4001, channels))).astype(np.float32)
    data = wav_bytes(samples, "PCM_16", rate=22050)
    decoded, rate = pcm16_wav(data)
    expected, _ = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    assert rate == 22050 and decoded.dtype == np.float32 and np.array_equal(decoded, expected)


def test_other_audio_is_left_to_soundfile(corpus):
    samples = np.zeros((100, 1), dtype=np.float32)
    assert pcm16_wav(wav_bytes(samples, "FLOAT")) is None and pcm16_wav(wav_bytes(samples, "PCM_24")) is None
    assert pcm16_wav(b"fLaC" + bytes(40)) is None
    path = next((corpus / "audio").glob("*.wav"))
    assert np.array_equal(decode_audio(path.read_bytes()), load_audio(path))  # bytes read as the file is
