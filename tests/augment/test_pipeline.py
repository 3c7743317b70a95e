import numpy as np
import pytest

from vasr.audio import SAMPLE_RATE, load_audio
from vasr.augment import AddNoise, Augmentation, Babble, ColouredNoise, Hum, Reverb, SampleKey, SyntheticRooms
from vasr.augment.transforms import mix, power


def speech(seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)


def chain(paths=()) -> Augmentation:
    augmentation = Augmentation(
        speeds=(0.9, 1.0, 1.1),
        reverb=Reverb(SyntheticRooms(), p=1.0),
        noise=AddNoise({"coloured": ColouredNoise(), "babble": Babble(pool=4), "hum": Hum()}, p=1.0),
    )
    augmentation.bind(list(paths), seed=0)
    return augmentation


def test_same_seed_epoch_and_utterance_give_the_same_audio_others_differ(corpus):
    paths = sorted(str(p) for p in (corpus / "audio").glob("*.wav"))
    audio = load_audio(paths[0])
    a, b = chain(paths), chain(paths)  # two workers' copies
    first = a(audio, 3, SampleKey(5, 2, 1.1))
    assert first.tobytes() == b(audio, 3, SampleKey(5, 2, 1.1)).tobytes()
    for other in (
        a(audio, 3, SampleKey(5, 3, 1.1)),
        a(audio, 3, SampleKey(6, 2, 1.1)),
        a(audio, 4, SampleKey(5, 2, 1.1)),
        a(audio, 3, SampleKey(5, 2, 1.1, copy=1)),  # the utterance drawn again in the epoch (a mix's weight)
    ):
        assert other.shape != first.shape or not np.array_equal(other, first)


@pytest.mark.parametrize("speed", [0.9, 1.0, 1.1])
def test_speed_changes_the_length_as_the_sampler_planned(speed):
    audio = speech(3.0)
    out = Augmentation(speeds=(speed,))(audio, 0, SampleKey(0, 0, speed), max_samples=int(audio.size / speed))
    assert abs(out.size - audio.size / speed) <= 2


def test_epoch_speeds_are_seeded_and_drawn_from_the_choices():
    augmentation = Augmentation(speeds=(0.9, 1.0, 1.1))
    speeds = augmentation.epoch_speeds(0, 1, 3000)
    assert np.array_equal(speeds, augmentation.epoch_speeds(0, 1, 3000))
    assert not np.array_equal(speeds, augmentation.epoch_speeds(0, 2, 3000))
    assert set(np.round(speeds, 2)) == {0.9, 1.0, 1.1} and 900 < np.sum(speeds == 1.0) < 1100
    assert set(Augmentation(speeds=None).epoch_speeds(0, 1, 5)) == {1.0}
    assert not np.array_equal(augmentation.epoch_speeds(0, 1, 3000, copy=1), speeds)  # a second copy's own


def test_noise_is_mixed_at_the_drawn_snr():
    rng = np.random.default_rng(0)
    clean = speech()
    noise = ColouredNoise().draw(rng, clean.size)
    noisy = mix(clean, noise, 10.0)
    assert 10 * np.log10(power(clean) / power(noisy - clean)) == pytest.approx(10.0, abs=1e-3)


@pytest.mark.parametrize("source", [ColouredNoise(), Hum()])
def test_built_in_sources_fill_the_utterance(source):
    noise = source.draw(np.random.default_rng(1), 12345)
    assert noise.shape == (12345,) and noise.dtype == np.float32 and power(noise) > 0


def test_babble_mixes_other_training_utterances(corpus):
    paths = sorted(str(p) for p in (corpus / "audio").glob("*.wav"))
    babble = Babble(speakers=(3, 3), pool=8)
    babble.bind(paths, seed=0)
    assert len(babble.paths) == 8
    noise = babble.draw(np.random.default_rng(0), 2 * SAMPLE_RATE)
    assert noise.shape == (2 * SAMPLE_RATE,) and power(noise) > 1.0  # three standardised talkers
    with pytest.raises(RuntimeError, match="bind"):
        Babble().draw(np.random.default_rng(0), 10)


def test_reverb_keeps_length_and_level_and_smears_in_time():
    audio = np.zeros(SAMPLE_RATE, np.float32)
    audio[1000] = 1.0
    wet = Reverb(SyntheticRooms(rt60=(0.6, 0.6)), p=1.0)(audio, np.random.default_rng(0))
    assert wet.size == audio.size and power(wet) == pytest.approx(power(audio), rel=1e-3)
    assert np.argmax(np.abs(wet)) == 1000  # aligned at the direct path
    assert np.sum(np.abs(wet[1100:]) > 1e-4) > 1000  # the tail rings on


def test_a_transform_set_to_none_is_off():
    augmentation = Augmentation(speeds=None, reverb=None, noise=AddNoise([Hum()], p=1.0))
    assert list(augmentation.transforms) == ["noise"]
    with pytest.raises(ValueError, match="at least one"):
        AddNoise({"folder": None})
