"""The conditional baselines start from weights the seed fixes, as the runs that train them do."""

import torch

from condgen.data import load_dataset
from condgen.evaluation.baselines import train_conditional_timed


def test_a_baseline_trained_twice_with_one_seed_has_the_same_weights():
    data = load_dataset("faces", n=16, size=16)
    weights = []
    for _ in range(2):
        torch.rand(7)  # the global RNG is elsewhere each time
        model, _ = train_conditional_timed("cvae", data, ["smiling"], steps=1, batch_size=8, seed=4, progress=False)
        weights.append(model.state_dict())
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
