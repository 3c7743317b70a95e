import random

import pytest

from vasr.data.sampler import BucketBatchSampler, make_batches

_RNG = random.Random(0)
DURATIONS = [_RNG.uniform(1.0, 10.0) for _ in range(2003)]


def padding_share(batches, durations):
    real = sum(durations[i] for b in batches for i in b)
    padded = sum(max(durations[i] for i in b) * len(b) for b in batches)
    return real / padded


def test_every_item_exactly_once_per_epoch():
    sampler = BucketBatchSampler(DURATIONS, batch_size=8, seed=1)
    for epoch in range(3):
        sampler.set_epoch(epoch)
        seen = [i for batch in sampler for i in batch]
        assert sorted(seen) == list(range(len(DURATIONS)))


def test_similar_lengths_together_far_better_than_random():
    bucketed = list(BucketBatchSampler(DURATIONS, batch_size=8, seed=1))
    shuffled = list(range(len(DURATIONS)))
    random.Random(1).shuffle(shuffled)
    random_batches = [shuffled[i : i + 8] for i in range(0, len(shuffled), 8)]
    assert padding_share(bucketed, DURATIONS) > 0.97 > padding_share(random_batches, DURATIONS) + 0.15


def test_epochs_differ_but_a_seed_repeats_them():
    a, b = BucketBatchSampler(DURATIONS, batch_size=8, seed=1), BucketBatchSampler(DURATIONS, batch_size=8, seed=1)
    first = list(a)
    assert first == list(b)
    a.set_epoch(1)
    assert list(a) != first


def test_seconds_budget_bounds_padded_seconds():
    batches = make_batches(DURATIONS, max_seconds=40.0)
    for batch in batches:
        assert len(batch) == 1 or max(DURATIONS[i] for i in batch) * len(batch) <= 40.0
    assert len({len(b) for b in batches}) > 1  # short utterances make bigger batches


def test_ddp_ranks_get_equal_batch_counts_and_cover_everything():
    ranks = [BucketBatchSampler(DURATIONS, batch_size=8, seed=3, rank=r, world_size=2) for r in range(2)]
    batches = [list(s) for s in ranks]
    assert len(batches[0]) == len(batches[1]) == len(ranks[0])
    covered = {i for part in batches for b in part for i in b}
    assert covered == set(range(len(DURATIONS)))
    # Only the batches repeated to even out the ranks can appear twice.
    total = sum(len(part) for part in batches)
    assert total - len({tuple(b) for part in batches for b in part}) <= 1


def test_batch_size_or_seconds_exactly_one():
    with pytest.raises(ValueError, match="exactly one"):
        make_batches(DURATIONS, batch_size=4, max_seconds=10.0)


def test_sortagrad_serves_the_first_epoch_shortest_first():
    sampler = BucketBatchSampler(DURATIONS, batch_size=8, seed=1, sortagrad_epochs=1)
    longest = [max(DURATIONS[i] for i in batch) for batch in sampler]
    assert all(b > a * 0.98 for a, b in zip(longest, longest[1:], strict=False))  # ascending, up to the 1% jitter
    sampler.set_epoch(1)
    longest = [max(DURATIONS[i] for i in batch) for batch in sampler]
    assert longest != sorted(longest)
