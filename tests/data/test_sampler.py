import random

import pytest

from vasr.augment import Augmentation, SampleKey
from vasr.data.sampler import BucketBatchSampler, make_batches, padded_seconds

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


def test_batches_held_as_arrays_serve_and_shuffle_as_lists_do():
    batches = make_batches(DURATIONS, max_seconds=40.0, rng=random.Random(5))
    as_lists = list(batches)
    assert sorted(i for batch in as_lists for i in batch) == list(range(len(DURATIONS)))
    assert all(type(batch) is list and all(type(i) is int for i in batch) for batch in as_lists)
    assert list(batches[3:7]) == as_lists[3:7] and batches[-1] == as_lists[-1]
    random.Random(9).shuffle(as_lists)
    assert list(batches.shuffled(random.Random(9))) == as_lists  # the permutation a list of them gets


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


def padded(batch, pad_to=0.25):
    return padded_seconds(max(DURATIONS[i] for i in batch), pad_to)


def test_sortagrad_serves_the_first_epoch_shortest_first():
    sampler = BucketBatchSampler(DURATIONS, batch_size=8, seed=1, sortagrad_epochs=1)
    lengths = [padded(batch) for batch in sampler]
    assert lengths == sorted(lengths)
    lengths = [padded(batch) for batch in sampler]  # the next pass is epoch 1
    assert sampler.epoch == 1 and lengths != sorted(lengths)


def test_few_shapes_little_padding_same_batch_count_every_epoch():
    sampler = BucketBatchSampler(DURATIONS, max_seconds=60.0, pad_to=0.25, seed=2)
    counts, shapes = set(), set()
    for _ in range(3):
        batches = list(sampler)
        counts.add(len(batches))
        shapes |= {(len(b), padded(b)) for b in batches}
        assert all(len(b) * padded(b) <= 60.0 or len(b) == 1 for b in batches)
        real = sum(DURATIONS[i] for b in batches for i in b)
        assert real / sum(len(b) * padded(b) for b in batches) > 0.95
    assert counts == {len(sampler)}
    assert len(shapes) <= 2 * len({padded_seconds(d, 0.25) for d in DURATIONS}) + 1


def test_state_dict_continues_mid_epoch_and_moves_on_after_the_end():
    sampler = BucketBatchSampler(DURATIONS, batch_size=8, seed=4)
    list(sampler)
    second = iter(sampler)
    trained = [next(second) for _ in range(5)]
    for _ in trained:
        sampler.mark_trained()
    restored = BucketBatchSampler(DURATIONS, batch_size=8, seed=4)
    restored.load_state_dict(sampler.state_dict())
    assert trained + list(restored) == list(sampler.epoch_batches())
    assert restored.epoch == 1
    for _ in range(len(restored)):
        restored.mark_trained()
    at_end = BucketBatchSampler(DURATIONS, batch_size=8, seed=4)
    at_end.load_state_dict(restored.state_dict())
    assert next(iter(at_end)) and at_end.epoch == 2


@pytest.mark.parametrize(("before", "after"), [(2, 3), (3, 1), (1, 2)])
def test_resuming_on_another_number_of_ranks_trains_the_rest_of_the_epoch_once(before, after):
    ranks = [BucketBatchSampler(DURATIONS, batch_size=8, seed=4, rank=r, world_size=before) for r in range(before)]
    passes = [iter(r) for r in ranks]
    trained = [next(it) for _ in range(7) for it in passes]  # 7 lockstep steps
    for sampler in ranks:
        for _ in range(7):
            sampler.mark_trained()
    state = ranks[0].state_dict()
    assert state["trained"] == 7 * before and state["world_size"] == before
    resumed = [BucketBatchSampler(DURATIONS, batch_size=8, seed=4, rank=r, world_size=after) for r in range(after)]
    rest, counts = [], set()
    for sampler in resumed:
        sampler.load_state_dict(state)
        announced = len(sampler)  # as the restored training loop counts: the 7 it had, plus this pass's
        batches = list(sampler)
        assert announced == 7 + len(batches)
        counts.add(len(batches))
        rest += batches
    assert len(counts) == 1  # every rank the same count: DDP's collectives stay matched
    epoch = ranks[0].epoch_batches()
    assert {tuple(b) for b in trained + rest} == {tuple(b) for b in epoch}  # every batch of the epoch
    assert len(rest) - len(epoch[7 * before :]) < after  # the rest once, bar the few that even out the ranks


def test_resuming_with_other_batch_settings_is_refused_with_the_difference():
    sampler = BucketBatchSampler(DURATIONS, max_seconds=60.0, seed=4)
    next(iter(sampler))
    sampler.mark_trained()
    other = BucketBatchSampler(DURATIONS, max_seconds=30.0, seed=4)
    with pytest.raises(ValueError, match="max_seconds 60.0 in the checkpoint, 30.0 now"):
        other.load_state_dict(sampler.state_dict())
    with pytest.raises(ValueError, match="seed 4 in the checkpoint, 5 now"):
        BucketBatchSampler(DURATIONS, max_seconds=60.0, seed=5).load_state_dict(sampler.state_dict())


def test_speed_perturbed_batches_respect_the_budget_and_stay_in_few_shapes():
    augmentation = Augmentation(speeds=(0.9, 1.0, 1.1))
    sampler = BucketBatchSampler(
        DURATIONS,
        max_seconds=60.0,
        pad_to=0.25,
        seed=2,
        epoch_speeds=lambda epoch, copy=0: augmentation.epoch_speeds(2, epoch, 2003, copy),
    )
    shapes, counts = set(), set()
    for epoch in range(3):
        batches = list(sampler)
        counts.add(len(batches))
        assert all(isinstance(k, SampleKey) and k.epoch == epoch for b in batches for k in b)
        assert sorted(k.index for b in batches for k in b) == list(range(len(DURATIONS)))
        speeds = augmentation.epoch_speeds(2, epoch, len(DURATIONS))
        assert all(k.speed == speeds[k.index] for b in batches for k in b)
        for batch in batches:
            length = padded_seconds(max(DURATIONS[k.index] / k.speed for k in batch), 0.25)
            assert len(batch) * length <= 60.0 or len(batch) == 1
            shapes.add((len(batch), length))
    perturbed = {padded_seconds(d / s, 0.25) for d in DURATIONS for s in (0.9, 1.0, 1.1)}
    assert len(shapes) <= 2 * len(perturbed) + 1 and max(counts) - min(counts) <= 2


def test_len_before_each_pass_is_the_batches_that_pass_serves_when_counts_vary():
    augmentation = Augmentation(speeds=(0.9, 1.0, 1.1))
    sampler = BucketBatchSampler(
        DURATIONS,
        max_seconds=30.0,
        seed=2,
        epoch_speeds=lambda epoch, copy=0: augmentation.epoch_speeds(2, epoch, 2003, copy),
    )
    counts = []
    for _ in range(8):
        announced = len(sampler)  # what Lightning reads when it reloads the loader at the epoch's start
        served = sum(1 for _ in sampler)
        assert served == announced
        counts.append(served)
    assert len(set(counts)) > 1  # the counts do vary: the case a fixed length would get wrong


def test_resumed_on_as_many_ranks_each_rank_trains_what_it_would_have_uneven_epoch_included():
    durations = [1.0, 1.1, 1.2, 1.3, 1.4, 1.5]  # 3 batches of 2: the epoch's first is repeated to even 2 ranks out
    whole = [list(BucketBatchSampler(durations, batch_size=2, seed=4, rank=r, world_size=2)) for r in range(2)]
    ranks = [BucketBatchSampler(durations, batch_size=2, seed=4, rank=r, world_size=2) for r in range(2)]
    for sampler in ranks:
        next(iter(sampler))
        sampler.mark_trained()
    resumed = [BucketBatchSampler(durations, batch_size=2, seed=4, rank=r, world_size=2) for r in range(2)]
    for sampler in resumed:
        sampler.load_state_dict(ranks[0].state_dict())
    assert [list(sampler) for sampler in resumed] == [batches[1:] for batches in whole]
