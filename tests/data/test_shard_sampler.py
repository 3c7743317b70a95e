import functools
import random

import numpy as np
import pytest

from tests.conftest import MICRO_ARCHITECTURE, optim_factories
from tests.data.test_datamodule import augmentation, recorded_fit
from tests.data.test_shards import file_splits, sharded_splits
from vasr.augment import SampleKey
from vasr.data.datamodule import SpeechDataModule
from vasr.data.dataset import SpeechDataset
from vasr.data.mix import CorpusMix
from vasr.data.sampler import padded_seconds
from vasr.data.shard_sampler import ShardBatchSampler, ShardDataset, buffered_batches
from vasr.data.shards import STRIDE, ShardLayout, write_shards
from vasr.model.build import build_from_config
from vasr.model.module import CTCModule
from vasr.recipe.run_folder import RunFolder
from vasr.text.vocab import PAD, build_vocab, make_tokenizer, save_vocab

_RNG = np.random.default_rng(0)


def layout(sizes: list[int]) -> tuple[ShardLayout, np.ndarray]:
    """Shards of ``sizes`` utterances (no audio: the plan needs only the index) and seeded random durations."""
    shard = np.repeat(np.arange(len(sizes)), sizes)
    member = np.concatenate([np.arange(size) for size in sizes])
    paths = tuple(f"train-{i:06d}.tar" for i in range(len(sizes)))
    durations = np.random.default_rng(len(shard)).uniform(1.0, 10.0, len(shard))
    return ShardLayout(paths, shard, member, np.zeros(len(shard), dtype=np.int64)), durations


def sampler(sizes, rank=0, world=1, workers=0, **options) -> ShardBatchSampler:
    shards, durations = layout(sizes)
    options = {"max_seconds": 40.0, "seed": 3, "buffer": 64} | options
    return ShardBatchSampler(durations, shards, rank=rank, world_size=world, workers=workers, **options)


def test_batches_are_made_within_the_buffer_by_the_file_samplers_rule():
    durations = _RNG.uniform(1.0, 10.0, 3000)
    rows = _RNG.permutation(3000)  # the reading order
    batches = buffered_batches(rows, durations, 300, None, 40.0, 0.125, random.Random(0))
    assert sorted(i for batch in batches for i in batch) == list(range(3000))
    place = np.argsort(rows)  # each utterance's place in the reading order
    for batch in batches:
        length = padded_seconds(durations[batch].max(), 0.125)
        assert len(batch) == 1 or len(batch) * length <= 40.0
        assert np.ptp(place[batch]) < 2 * 300  # a buffer, and a partial batch carried into the next once
    padded = sum(padded_seconds(durations[b].max(), 0.125) * len(b) for b in batches)
    assert durations.sum() / padded > 0.9  # similar durations together (random batches: ~0.65)


@pytest.mark.parametrize("world,workers", [(2, 0), (3, 0), (2, 2), (2, 4)])
def test_uneven_shards_give_every_rank_as_many_batches_and_disjoint_ones(world, workers):
    sizes = [60, 45, 60, 30, 60, 60, 17, 60, 60, 55, 60, 60, 60]  # 13 shards, unequal, for 2 to 8 readers
    ranks = [sampler(sizes, rank, world, workers) for rank in range(world)]
    for _ in range(2):
        lengths = [len(s) for s in ranks]  # what Lightning counts on
        served = [list(s) for s in ranks]
        assert [len(batches) for batches in served] == lengths == [lengths[0]] * world  # none waits at the end
        rows = [i for batches in served for batch in batches for i in batch]
        assert len(rows) == len(set(rows)) > 0.9 * sum(sizes)  # each once; the few past the equal share wait
    with pytest.raises(ValueError, match="3 training utterances for 4 readers"):
        sampler([2, 1], 0, 2, 2)


def test_a_ranks_batches_alternate_between_its_workers_readers_and_watermarks_rise():
    batches = list(sampler([40] * 8, rank=1, world=2, workers=2))
    streams = [batch.stream for batch in batches]
    assert streams[0::2] == [streams[0]] * len(streams[0::2]) and streams[1::2] == [streams[1]] * len(streams[1::2])
    shards, _ = layout([40] * 8)
    for reader in (batches[0::2], batches[1::2]):
        pieces = reader[0].stream
        place = {i: p for p, (shard, first, end, _) in enumerate(pieces) for i in shards.members(shard)[first:end]}
        positions = [[place[i] * STRIDE + shards.member[i] for i in batch] for batch in reader]
        watermarks = [batch.watermark for batch in reader]
        assert watermarks == sorted(watermarks)
        assert all(w <= min(p) for w, p in zip(watermarks, positions, strict=True))


@pytest.mark.parametrize("weights", [None, {"a": 2.0, "b": 0.5}])
def test_a_resumed_sampler_serves_the_rest_of_the_epoch_on_as_many_or_fewer_ranks(weights):
    sizes = [50, 50, 50, 23, 50]
    mix = {"mix": CorpusMix(np.repeat([0, 1], [100, 123]), weights)} if weights else {}
    make = functools.partial(sampler, **mix)
    whole = [list(make(sizes, rank, 2, 1)) for rank in range(2)]
    cut = [make(sizes, rank, 2, 1) for rank in range(2)]
    for s in cut:
        for _ in zip(range(4), s, strict=False):
            s.mark_trained()  # 4 steps trained, then killed: the checkpoint holds this state
    states = [s.state_dict() for s in cut]
    resumed = [make(sizes, rank, 2, 1) for rank in range(2)]
    for s, state in zip(resumed, states, strict=True):
        s.load_state_dict(state)
    served = [list(s) for s in resumed]
    assert served == [batches[4:] for batches in whole]
    assert [[b.copies for b in s] for s in served] == [[b.copies for b in batches[4:]] for batches in whole]
    alone = make(sizes, 0, 1, 1)  # on one rank: the interrupted plan's batches left, each once
    alone.load_state_dict(states[0])
    assert sorted(map(tuple, alone)) == sorted(tuple(b) for batches in whole for b in batches[4:])
    with pytest.raises(ValueError, match="shuffle_buffer 64 in the checkpoint, 32 now"):
        make(sizes, 0, 2, 1, buffer=32).load_state_dict(states[0])


@pytest.fixture(scope="module")
def sharded(corpus, tmp_path_factory):
    """The test corpus's training split in 4 shards (3, 3, 3, 3), and a tokenizer for it."""
    folder = tmp_path_factory.mktemp("sharded")
    write_shards(file_splits(corpus), folder, shard_size=3)
    splits = sharded_splits(folder)
    tokenizer = make_tokenizer(save_vocab(build_vocab("corpus", (i.text for i in splits["train"])), folder))
    return splits, tokenizer


def test_shard_audio_is_augmented_exactly_as_file_audio(corpus, sharded):
    splits, tokenizer = sharded
    augment = augmentation()
    shards = ShardDataset(splits["train"], tokenizer, augmentation=augment, seed=4)
    files = SpeechDataset(file_splits(corpus)["train"], tokenizer, augmentation=augment, seed=4)
    speeds = lambda epoch: augment.epoch_speeds(4, epoch, len(shards))  # noqa: E731
    plan = ShardBatchSampler(shards.durations, shards.layout, buffer=5, batch_size=2, epoch_speeds=speeds, seed=4)
    row_of = {item.id: row for row, item in enumerate(files.items)}
    for batch in plan.epoch_batches(1):
        for row, example in zip(batch, shards.__getitems__(batch), strict=True):
            key = SampleKey(row_of[example.id], 1, float(speeds(1)[row]))
            assert row_of[example.id] == row  # the shards' index keeps the split's order
            expected = files[key]
            assert np.array_equal(example.audio, expected.audio) and example.labels == expected.labels


def test_workers_read_the_planned_batches(sharded):
    splits, tokenizer = sharded
    dm = SpeechDataModule(splits, tokenizer, batch_size=2, num_workers=2, shuffle_buffer=4)
    planned = [list(map(splits["train"].columns["id"].__getitem__, b)) for b in dm.train_sampler.epoch_batches(0)]
    assert [b["ids"] for b in dm.train_dataloader()] == planned
    assert sorted(i for b in planned for i in b) == sorted(item.id for item in splits["train"])


def fit_sharded(splits, tokenizer, tmp_path, stop_at=None, ckpt_path=None) -> list:
    module = CTCModule(
        build_from_config(MICRO_ARCHITECTURE, tokenizer.get_vocab(), PAD), tokenizer, **optim_factories()
    )
    dm = SpeechDataModule(splits, tokenizer, batch_size=2, seed=5, shuffle_buffer=4, augmentation=augmentation())
    return recorded_fit(module, dm, tmp_path, 2, stop_at, ckpt_path)


def test_a_run_killed_mid_epoch_resumes_with_exactly_the_uninterrupted_batches(sharded, tmp_path):
    splits, tokenizer = sharded
    whole = fit_sharded(splits, tokenizer, tmp_path / "whole")
    first = fit_sharded(splits, tokenizer, tmp_path / "cut", stop_at=4)
    assert len(first) == 4 < len(whole) / 2
    rest = fit_sharded(splits, tokenizer, tmp_path / "cut", ckpt_path=RunFolder(tmp_path / "cut").last_checkpoint)
    assert first + rest == whole  # the same utterances and, byte for byte, the same augmented audio


def test_a_mix_reads_what_it_draws_from_shards_each_copy_once():
    """Two corpora's shards at weights 2 and 0.5: an epoch's planned utterances are the draw (a twice-drawn one as
    copies 0 and 1, from two pieces), bar the few past the readers' equal share; every rank as many batches."""
    sizes = [40, 40, 33, 40, 40, 12]
    labels = np.repeat([0, 1], [113, 112])  # shards 0-2 one corpus, 3-5 the other
    mix = CorpusMix(labels, {"small": 2.0, "big": 0.5})
    ranks = [sampler(sizes, rank, 2, 2, mix=mix) for rank in range(2)]
    for epoch in range(2):
        counts = np.bincount(mix.draw(3, epoch), minlength=225)
        lengths = [len(s) for s in ranks]  # what Lightning counts on
        served = [list(s) for s in ranks]
        assert [len(part) for part in served] == lengths == [lengths[0]] * 2 and lengths[0] > 0
        batches = [batch for part in served for batch in part]
        entries = [(row, copy) for batch in batches for row, copy in zip(batch, batch.copies, strict=True)]
        assert len(entries) == len(set(entries)) > 0.9 * counts.sum()  # each (utterance, copy) once
        assert all(copy < counts[row] for row, copy in entries)  # only what the draw holds, as often
        assert {copy for row, copy in entries if labels[row] == 0} == {0, 1}
        assert {copy for row, copy in entries if labels[row] == 1} == {0}
        for part in served:
            for batch in part:
                for row, place in zip(batch, batch.places, strict=True):
                    shard, first, end, _ = batch.stream[place]  # the piece it is read from holds it
                    assert ranks[0].layout.shard[row] == shard and first <= ranks[0].layout.member[row] < end
    assert sampler(sizes, mix=mix).settings["mix"] == mix.settings  # a resume with other weights is refused


def test_a_mixed_sharded_split_reads_each_copy_with_its_own_speed(sharded):
    splits, tokenizer = sharded
    augment = augmentation()
    shards = ShardDataset(splits["train"], tokenizer, augmentation=augment, seed=4)
    mix = CorpusMix(np.zeros(len(shards), dtype=np.int64), {"only": 2.0})  # every utterance twice
    speeds = lambda epoch, copy=0: augment.epoch_speeds(4, epoch, len(shards), copy)  # noqa: E731
    plan = ShardBatchSampler(shards.durations, shards.layout, buffer=5, batch_size=2, epoch_speeds=speeds, seed=4,
                             mix=mix)  # fmt: skip
    files = SpeechDataset(splits["train"], tokenizer, augmentation=augment, seed=4)
    seen = set()
    for batch in plan.epoch_batches(1):
        for row, copy, example in zip(batch, batch.copies, shards.__getitems__(batch), strict=True):
            expected = files[SampleKey(row, 1, float(speeds(1, copy)[row]), copy)]  # the member read by its path
            assert example.id == splits["train"][row].id and np.array_equal(example.audio, expected.audio)
            seen.add((row, copy))
    assert len(seen) > len(shards)  # second copies read too, each with its own augmentation
