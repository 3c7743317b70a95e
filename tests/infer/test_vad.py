"""Segmenters: silero-vad finds speech in noise where the energy rule finds no pause, the fallback says so,
cut & merge keeps to its maximum, and every segmenter's stretches are ordered, disjoint and inside the file."""

import importlib.metadata
import json
import sys

import numpy as np
import pytest
import soundfile as sf

from vasr.audio import SAMPLE_RATE, Recording, load_audio
from vasr.data.manifest import read_manifest
from vasr.infer.cut_merge import cut_long, gaps_kept, merged, padded, speech_runs
from vasr.infer.silero import SileroModel, SileroSegmenter, SileroSettings, SileroUnavailableError
from vasr.infer.vad import EnergySegmenter, segmenter


def silero_missing() -> str:
    """Why silero cannot run here ('' when it can)."""
    try:
        SileroModel()
    except SileroUnavailableError as error:
        return str(error)
    return ""


needs_silero = pytest.mark.skipif(bool(silero_missing()), reason=silero_missing() or "silero-vad available")


@pytest.fixture(scope="module")
def noisy(corpus, tmp_path_factory):
    """Ten demo utterances trimmed to their speech, 0.4-1.2 s apart, in white noise at 5 dB SNR: the file,
    the speech bounds and the file's length in samples."""
    items, _ = read_manifest(corpus / "manifest.jsonl", corpus / "audio")
    renderings = {r["id"]: r for r in map(json.loads, (corpus / "speakers.jsonl").read_text().splitlines())}
    rng = np.random.default_rng(0)
    parts, bounds, position = [np.zeros(SAMPLE_RATE, np.float32)], [], SAMPLE_RATE
    for item in list(items)[:10]:
        audio, how = load_audio(item.path), renderings[item.id]
        speech = audio[int(how["lead_s"] * SAMPLE_RATE) : len(audio) - int(how["tail_s"] * SAMPLE_RATE)]
        pause = np.zeros(int(rng.uniform(0.4, 1.2) * SAMPLE_RATE), np.float32)
        parts += [speech, pause]
        bounds.append((position, position + len(speech)))
        position += len(speech) + len(pause)
    clean = np.concatenate([*parts, np.zeros(SAMPLE_RATE, np.float32)])
    power = np.mean(np.concatenate([clean[a:b] for a, b in bounds]) ** 2)
    noise = rng.standard_normal(len(clean)).astype(np.float32) * np.sqrt(power / 10 ** (5 / 10))
    path = tmp_path_factory.mktemp("vad") / "noisy_5db.wav"
    sf.write(path, clean + noise, SAMPLE_RATE, subtype="FLOAT")
    return path, bounds, len(clean)


@pytest.fixture
def silent(tmp_path):
    path = tmp_path / "silent.wav"
    sf.write(path, np.zeros(5 * SAMPLE_RATE, np.float32), SAMPLE_RATE)
    return Recording(path)


def assert_well_formed(stretches: list[tuple[int, int]], samples: int) -> None:
    assert stretches, "no stretches"
    for (a, b), (c, _) in zip(stretches, [*stretches[1:], (samples, samples)], strict=True):
        assert 0 <= a < b <= c <= samples, (a, b, c)


def test_energy_rule_finds_no_pause_in_noise(noisy):
    path, _, samples = noisy
    assert EnergySegmenter()(Recording(path)) == [(0, samples)]


@needs_silero
def test_silero_finds_speech_and_pauses_in_noise(noisy):
    path, bounds, samples = noisy
    stretches = SileroSegmenter()(Recording(path))
    assert_well_formed(stretches, samples)
    starts, stops = np.array(stretches).T
    for a, b in bounds:  # every utterance's middle is read
        middle = (a + b) // 2
        assert ((starts <= middle) & (middle < stops)).any(), (a, b, stretches)
    pauses = [(b, c) for (_, b), (c, _) in zip(bounds, bounds[1:], strict=False)]
    edges = np.concatenate([starts, stops])
    cut = [((edges >= b) & (edges <= c)).any() for b, c in pauses]
    assert np.mean(cut) >= 0.8, cut
    speech = sum(b - a for a, b in bounds)
    assert sum(b - a for a, b in stretches) < 0.5 * samples + speech, "the silence around the speech was read"


@needs_silero
@pytest.mark.parametrize(
    "settings",
    [SileroSettings(), SileroSettings(keep_gaps=True), SileroSettings(max_seconds=3, merge_seconds=3)],
    ids=["dropped", "gaps-kept", "merged"],
)
def test_silero_stretches_ordered_disjoint_inside(noisy, settings):
    path, _, samples = noisy
    stretches = SileroSegmenter(settings)(Recording(path))
    assert_well_formed(stretches, samples)
    assert max(b - a for a, b in stretches) <= settings.max_seconds * SAMPLE_RATE
    if settings.keep_gaps:
        assert stretches[0][0] == 0 and stretches[-1][1] == samples
        assert all(b == c for (_, b), (c, _) in zip(stretches, stretches[1:], strict=False))


@needs_silero
def test_merging_joins_neighbours_up_to_the_maximum(noisy):
    path, _, _ = noisy
    model = SileroModel()
    probs = model.probabilities(Recording(path))
    alone = SileroSegmenter(SileroSettings(), model).segments(probs, len(probs) * 512)
    joined = SileroSegmenter(SileroSettings(merge_seconds=6), model).segments(probs, len(probs) * 512)
    assert len(joined) < len(alone)
    assert max(b - a for a, b in joined) <= 6 * SAMPLE_RATE
    assert {a for a, _ in joined} <= {a for a, _ in alone}  # merging moves no bound, it drops some


@needs_silero
def test_probabilities_do_not_depend_on_the_block(noisy):
    path, _, samples = noisy
    whole = SileroModel().probabilities(Recording(path))
    assert len(whole) == -(-samples // 512)
    np.testing.assert_allclose(SileroModel(block_frames=7).probabilities(Recording(path)), whole, atol=1e-6)


@needs_silero
def test_silent_file_gives_no_stretches(silent):
    assert SileroSegmenter()(silent) == []


def test_energy_rule_on_a_silent_file_gives_no_stretches(silent):
    assert EnergySegmenter()(silent) == []


def test_cut_long_never_exceeds_the_maximum_and_cuts_at_the_lowest_probability():
    rng = np.random.default_rng(0)
    probs = rng.uniform(0.6, 1.0, 2000)
    probs[700] = 0.01  # in the second half of the first 1000 frames
    longest = 1000 * 512
    pieces = cut_long([(0, 2000 * 512)], probs, 512, longest)
    assert pieces[0] == (0, 700 * 512)
    assert all(b - a <= longest for a, b in pieces)
    assert [a for a, _ in pieces[1:]] == [b for _, b in pieces[:-1]]  # nothing lost between pieces
    assert pieces[0][0] == 0 and pieces[-1][1] == 2000 * 512


def test_merged_never_exceeds_the_maximum():
    bounds = [(0, 10), (12, 30), (31, 40), (60, 95), (96, 200)]
    assert merged(bounds, 40) == [(0, 40), (60, 95), (96, 200)]
    assert all(b - a <= 40 or (a, b) in bounds for a, b in merged(bounds, 40))


def test_hysteresis_closes_a_run_only_after_the_minimum_silence():
    probs = np.array([0.1, 0.9, 0.9, 0.2, 0.9, 0.9, 0.1, 0.1, 0.1, 0.9, 0.45, 0.9])
    assert speech_runs(probs, 0.5, 0.35, min_silence=2) == [(1, 6), (9, 12)]
    assert speech_runs(probs, 0.5, 0.35, min_silence=1) == [(1, 3), (4, 6), (9, 12)]


def test_padding_splits_a_narrow_gap_and_gaps_kept_cover_the_file():
    bounds = padded([(1, 3), (4, 6)], frame=10, pad=8, samples=100)
    assert bounds == [(2, 35), (35, 68)]
    assert gaps_kept(bounds, 100) == [(0, 35), (35, 100)]


def test_auto_falls_back_to_the_energy_rule_without_onnxruntime_and_says_so(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime raises ImportError
    chosen = segmenter("auto")
    assert isinstance(chosen, EnergySegmenter)
    assert "energy rule" in chosen.description and "silero-vad unavailable" in chosen.description
    assert "onnxruntime" in chosen.description
    with pytest.raises(SileroUnavailableError, match=r"vasr\[vad\]"):
        segmenter("silero")


def test_auto_falls_back_without_the_silero_package(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    chosen = segmenter()
    assert isinstance(chosen, EnergySegmenter)
    assert "silero-vad is not installed" in chosen.description


@needs_silero
def test_auto_picks_silero_when_available():
    chosen = segmenter("auto", SileroSettings(merge_seconds=10))
    assert isinstance(chosen, SileroSegmenter)
    assert chosen.description.startswith("silero-vad ") and "merged up to 10 s" in chosen.description


def test_bad_settings_and_kinds_are_refused():
    with pytest.raises(ValueError, match="unknown segmenter 'webrtc'"):
        segmenter("webrtc")
    with pytest.raises(ValueError, match="merge_seconds"):
        SileroSettings(max_seconds=10, merge_seconds=20)
    with pytest.raises(ValueError, match="threshold"):
        SileroSettings(threshold=1.5)
