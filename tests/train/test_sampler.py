"""The deterministic, resumable, rank-splitting batch sampler."""

import torch

from condgen.train.sampler import BatchSampler


def test_epoch_is_the_seeded_permutation_and_drops_the_incomplete_last_batch():
    sampler = BatchSampler(10, 4, seed=3)
    first_epoch = torch.randperm(10, generator=torch.Generator().manual_seed(3))
    second_epoch = torch.randperm(10, generator=torch.Generator().manual_seed(4))
    assert torch.equal(sampler.next_indices(), first_epoch[:4])
    assert torch.equal(sampler.next_indices(), first_epoch[4:8])
    assert torch.equal(sampler.next_indices(), second_epoch[:4])  # rows 8, 9 of epoch 0 dropped
    assert sampler.state_dict() == {"epoch": 1, "position": 4}


def test_resumed_sampler_continues_with_the_same_batches():
    uninterrupted = BatchSampler(7, 3, seed=0)
    expected = [uninterrupted.next_indices() for _ in range(9)]
    first = BatchSampler(7, 3, seed=0)
    got = [first.next_indices() for _ in range(4)]
    resumed = BatchSampler(7, 3, seed=0)
    resumed.load_state_dict(first.state_dict())
    got += [resumed.next_indices() for _ in range(5)]
    assert all(torch.equal(a, b) for a, b in zip(expected, got, strict=True))


def test_ranks_take_disjoint_shares_that_make_up_the_global_batch():
    global_batches = [BatchSampler(20, 6, seed=1).next_global_batch()]
    ranks = [BatchSampler(20, 6, seed=1, rank=r, world_size=3).next_indices() for r in range(3)]
    assert [len(r) for r in ranks] == [2, 2, 2]
    assert sorted(torch.cat(ranks).tolist()) == sorted(global_batches[0].tolist())


def test_batch_larger_than_the_data_set_is_clamped():
    sampler = BatchSampler(5, 64)
    assert sorted(sampler.next_indices().tolist()) == [0, 1, 2, 3, 4]
