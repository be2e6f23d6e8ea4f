"""seed_everything: one seed fixes torch, Python's random and NumPy; a rank shifts all three."""

import random

import numpy as np
import torch

from condgen.train.seeding import seed_everything


def draws():
    return torch.rand(3).tolist(), random.random(), float(np.random.rand())


def test_the_same_seed_gives_the_same_draws_and_a_rank_other_ones():
    seed_everything(5)
    first = draws()
    torch.rand(10), random.random()  # whatever ran in between
    seed_everything(5)
    assert draws() == first
    seed_everything(5, rank=1)
    other = draws()
    assert all(a != b for a, b in zip(other, first, strict=True))
    seed_everything(6)
    assert draws() == other  # seed + rank
