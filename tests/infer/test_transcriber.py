"""Files batched together transcribe as each does alone, in input order, with confidences."""

from functools import partial

import numpy as np
import pytest
import soundfile as sf

from tests.families import save_tiny_checkpoint
from vasr import ASSETS
from vasr.audio import SAMPLE_RATE, load_audio
from vasr.data.manifest import read_manifest
from vasr.decoding.ctc import CTCDecoding
from vasr.infer.reading import Piece
from vasr.infer.transcriber import Failure, Transcriber, batches
from vasr.infer.vad import segmenter
from vasr.model.export import load_features, load_for_inference

SHORT = partial(segmenter, "energy")


@pytest.fixture(scope="module")
def files(corpus, tmp_path_factory):
    """The corpus's files, a long one made of ten of them with pauses, and one that is not audio."""
    folder = tmp_path_factory.mktemp("files")
    items, _ = read_manifest(corpus / "manifest.jsonl", corpus / "audio", numbers="verbalize")
    pause = np.zeros(int(0.5 * SAMPLE_RATE), np.float32)
    long = np.concatenate([x for item in items[:10] for x in (load_audio(item.path), pause)])
    sf.write(folder / "long.wav", long, SAMPLE_RATE)
    (folder / "broken.wav").write_text("not audio")
    sf.write(folder / "tiny.wav", load_audio(items[0].path)[:200], SAMPLE_RATE)  # shorter than the receptive field
    named = [str(folder / name) for name in ("tiny.wav", "long.wav", "broken.wav")]
    return [item.path for item in items[10:]] + named


def transcriber(model_dir, batch_seconds: float, **options) -> Transcriber:
    model, tokenizer = load_for_inference(model_dir)
    features = load_features(model_dir, model.config)
    return Transcriber(
        model, CTCDecoding(tokenizer), chunk_seconds=6, context_seconds=1, batch_seconds=batch_seconds,
        device="cpu", features=features, segmenter=SHORT, **options,
    )  # fmt: skip


@pytest.mark.parametrize("model_dir", ["shipped", "masked"])
def test_batched_across_files_equals_each_file_alone(model_dir, files, tmp_path):
    """The shipped model (no attention mask: its feature encoder reads each window alone) and a masked one."""
    folder = ASSETS / "vasr-tiny-vi" if model_dir == "shipped" else save_tiny_checkpoint("wav2vec2", tmp_path)
    batched = list(transcriber(folder, batch_seconds=60, plan_seconds=30, workers=2).transcribe(files))
    alone = [next(transcriber(folder, batch_seconds=0).transcribe([f], workers=0)) for f in files]
    assert [r.file for r in batched] == [str(f) for f in files]  # input order, from two reading processes
    assert isinstance(batched[-1], Failure) and "broken.wav" in batched[-1].file and batched[-1].error
    for together, one in zip(batched[:-1], alone[:-1], strict=True):
        assert together.text == one.text and [w.word for w in together.words] == [w.word for w in one.words]
        assert [(w.start, w.end) for w in together.words] == [(w.start, w.end) for w in one.words]
        assert together.confidence == pytest.approx(one.confidence, abs=1e-3)
        assert [w.confidence for w in together.words] == pytest.approx([w.confidence for w in one.words], abs=1e-3)
    long = batched[-2]
    assert long.duration > 30  # many windows in several stretches
    if model_dir == "shipped":  # random weights say nothing a count could rest on
        assert len(long.words) > 20


def test_every_word_and_file_has_a_confidence_and_sure_words_score_higher(corpus):
    """The shipped model on its own corpus: words it reads right are surer, on average, than those it reads wrong."""
    from vasr.decoding.confidence import word_correctness

    items, _ = read_manifest(corpus / "manifest.jsonl", corpus / "audio", numbers="verbalize")
    results = list(transcriber(ASSETS / "vasr-tiny-vi", batch_seconds=60).transcribe([i.path for i in items]))
    right, wrong = [], []
    for item, result in zip(items, results, strict=True):
        assert 0 < result.confidence <= 1 and all(0 < w.confidence <= 1 for w in result.words)
        for word, correct in zip(result.words, word_correctness(item.text, result.text), strict=True):
            (right if correct else wrong).append(word.confidence)
    assert right and wrong and np.mean(right) > np.mean(wrong) + 0.05


def test_batches_hold_the_budget_and_equal_lengths_where_padding_is_not_exact():
    pieces = [Piece(i, 0, 0, np.zeros(n, np.float32), 0, None) for i, n in enumerate([900, 900, 800, 500, 500, 100])]
    mixed = list(batches(pieces, budget=2000, mixed_lengths=True))
    assert [[len(p.audio) for p in group] for group in mixed] == [[900, 900], [800, 500], [500, 100]]
    equal = list(batches(pieces, budget=2000, mixed_lengths=False))
    assert [[len(p.audio) for p in group] for group in equal] == [[900, 900], [800], [500, 500], [100]]
    assert [len(g) for g in batches(pieces, budget=0, mixed_lengths=True)] == [1] * 6  # at least one piece each


def test_a_file_that_breaks_off_while_read_is_reported_and_the_others_go_on(files, monkeypatch):
    from vasr.audio import Recording

    reading = Recording.read

    def damaged(self, start, stop):
        if self.path.name == "long.wav" and start > 0:
            raise RuntimeError("a damaged frame")
        return reading(self, start, stop)

    monkeypatch.setattr(Recording, "read", damaged)
    results = list(transcriber(ASSETS / "vasr-tiny-vi", batch_seconds=60).transcribe(files, workers=0))
    assert [r.file for r in results] == [str(f) for f in files]
    failed = {r.file.rsplit("/", 1)[-1]: r.error for r in results if isinstance(r, Failure)}
    assert set(failed) == {"long.wav", "broken.wav"} and "damaged frame" in failed["long.wav"]
