import numpy as np
import pytest

from vasr.augment import Augmentation
from vasr.data.index import Item, UtteranceIndex
from vasr.data.mix import CorpusMix, corpus_labels, groups_of
from vasr.data.sampler import BucketBatchSampler

SIZES = {"big": 300, "small": 40, "held_out": 20}
WEIGHTS = {"big": 0.25, "small": 2.5, "held_out": 0.0}
LABELS = np.repeat(np.arange(3), list(SIZES.values()))
DURATIONS = np.random.default_rng(0).uniform(1.0, 8.0, len(LABELS))


def index_of(names_and_ids: list[tuple[str, str]]) -> UtteranceIndex:
    return UtteranceIndex.of(
        Item(f"{name}/{uid}", "a", f"{uid}.wav", 1.0, n) for n, (name, uid) in enumerate(names_and_ids)
    )


def test_each_utterance_is_drawn_weight_times_per_epoch_in_expectation():
    mix = CorpusMix(LABELS, WEIGHTS)
    epochs = 200
    counts = sum(np.bincount(mix.draw(seed=3, epoch=e), minlength=len(LABELS)) for e in range(epochs)) / epochs
    for number, name in enumerate(SIZES):
        drawn = counts[np.equal(LABELS, number)]
        assert drawn.mean() == pytest.approx(WEIGHTS[name], abs=0.01)  # the corpus draws weight x its size
        assert np.abs(drawn - WEIGHTS[name]).max() < 0.2  # and every utterance its part, not a few of them
    once = np.bincount(mix.draw(seed=3, epoch=0), minlength=len(LABELS))
    assert once[np.equal(LABELS, 1)].min() == 2 and once[np.equal(LABELS, 2)].max() == 0  # 2.5: twice, half thrice
    shares = mix.shares(DURATIONS)
    expected = [w * DURATIONS[np.equal(LABELS, n)].sum() for n, w in enumerate(WEIGHTS.values())]
    assert list(shares.values()) == pytest.approx(list(np.asarray(expected) / sum(expected)))


def test_a_draw_is_the_seed_and_epochs_alone():
    a, b = CorpusMix(LABELS, WEIGHTS), CorpusMix(LABELS.copy(), dict(WEIGHTS))
    assert np.array_equal(a.draw(1, 4), b.draw(1, 4))
    assert not np.array_equal(a.draw(1, 4), a.draw(1, 5)) and not np.array_equal(a.draw(1, 4), a.draw(2, 4))
    assert len(a.draw(1, 4)) == round(0.25 * 300) + round(2.5 * 40)


@pytest.mark.parametrize("weights", [{"big": -1.0, "small": 1.0, "held_out": 1.0}, dict.fromkeys(SIZES, 0.0)])
def test_negative_or_all_zero_weights_are_refused(weights):
    with pytest.raises(ValueError, match="each must be >= 0, and one > 0"):
        CorpusMix(LABELS, weights)


def test_ids_name_their_corpus_and_an_unknown_one_is_refused():
    items = index_of([("vivos", "A_1"), ("cv", "x/y.mp3"), ("vivos", "A_2")])
    assert corpus_labels(items, ["cv", "vivos"]).tolist() == [1, 0, 1]
    assert groups_of(items.column("id")) == {"vivos/A_1": "vivos", "cv/x/y.mp3": "cv", "vivos/A_2": "vivos"}
    with pytest.raises(ValueError, match="utterance cv/x/y.mp3 names no corpus of vivos"):
        corpus_labels(items, ["vivos"])


def mixed_sampler(**options) -> BucketBatchSampler:
    return BucketBatchSampler(
        DURATIONS, max_seconds=20.0, pad_to=0.5, seed=7, mix=CorpusMix(LABELS, WEIGHTS), **options
    )


def test_a_mixed_epoch_batches_the_draw():
    sampler = mixed_sampler()
    for epoch in range(2):
        sampler.set_epoch(epoch)
        served = sorted(i for batch in sampler for i in batch)
        assert served == sorted(CorpusMix(LABELS, WEIGHTS).draw(7, epoch).tolist())
        assert all(DURATIONS[batch].max() * len(batch) <= 20.0 + 0.5 * len(batch) for batch in sampler)


def assert_resumes_exactly(epoch: list, trained: int, **options) -> BucketBatchSampler:
    """A sampler stopped after ``trained`` batches of epoch 1 and one restored from its state serve ``epoch``
    between them; the stopped one is returned."""
    cut = mixed_sampler(**options)
    cut.set_epoch(1)
    first = []
    for batch in cut:
        first.append(batch)
        cut.mark_trained()
        if len(first) == trained:
            break
    restored = mixed_sampler(**options)
    restored.load_state_dict(cut.state_dict())
    assert first + list(restored) == epoch
    return cut


def test_a_mixed_sampler_resumes_exactly_and_refuses_other_weights():
    whole = mixed_sampler()
    whole.set_epoch(1)
    epoch = list(whole)
    cut = assert_resumes_exactly(epoch, trained=5)
    other = BucketBatchSampler(
        DURATIONS, max_seconds=20.0, pad_to=0.5, seed=7, mix=CorpusMix(LABELS, WEIGHTS | {"big": 1})
    )
    with pytest.raises(ValueError, match="mix"):
        other.load_state_dict(cut.state_dict())


def test_an_utterance_drawn_twice_is_two_copies_with_their_own_speeds_and_resumes_exactly():
    augmentation = Augmentation(speeds=(0.9, 1.0, 1.1))
    speeds = lambda epoch, copy=0: augmentation.epoch_speeds(7, epoch, len(DURATIONS), copy)  # noqa: E731
    whole = mixed_sampler(epoch_speeds=speeds)
    whole.set_epoch(1)
    epoch = list(whole)
    keys = [key for batch in epoch for key in batch]
    drawn = np.bincount([key.index for key in keys], minlength=len(DURATIONS))
    assert sorted(key.index for key in keys) == sorted(CorpusMix(LABELS, WEIGHTS).draw(7, 1).tolist())
    for utterance in np.flatnonzero(drawn > 1)[:20].tolist():  # "small", weight 2.5: every one twice or thrice
        copies = [key for key in keys if key.index == utterance]
        assert sorted(key.copy for key in copies) == list(range(len(copies)))
    twice = [key for key in keys if drawn[key.index] > 1]
    assert any(a.speed != b.speed for a in twice for b in twice if a.index == b.index)  # not one speed for all
    assert all(key.speed == speeds(1)[key.index] for key in keys if key.copy == 0)
    assert_resumes_exactly(epoch, trained=4, epoch_speeds=speeds)


def test_ddp_ranks_take_equal_disjoint_shards_of_the_draw():
    weights = {"big": 0.5, "small": 1.0, "held_out": 0.0}  # no utterance twice in an epoch: shards part utterances

    def rank(r: int, world: int) -> list[list[int]]:
        mix = CorpusMix(LABELS, weights)
        return list(
            BucketBatchSampler(DURATIONS, max_seconds=20.0, pad_to=0.5, seed=7, rank=r, world_size=world, mix=mix)
        )

    drawn = CorpusMix(LABELS, weights).draw(7, 0).tolist()
    batches = len(rank(0, 1))
    world = next(w for w in (2, 3, 4, 5, 6, 7) if batches % w == 0)
    shards = [{i for batch in rank(r, world) for i in batch} for r in range(world)]
    assert sorted(i for shard in shards for i in shard) == sorted(drawn)  # disjoint, and the whole draw
    uneven = world + 1 if batches % (world + 1) else world + 2
    assert len({len(rank(r, uneven)) for r in range(uneven)}) == 1  # equal counts however the batches divide
