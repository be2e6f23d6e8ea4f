"""The evaluation protocol on methods whose true scores are known by construction."""

import pytest
import torch
from torch import nn

from condgen.data import load_dataset
from condgen.evaluation.protocol import discrete_and_continuous, evaluate_continuous, evaluate_method


class LookupOracle(nn.Module):
    """A perfect oracle for a fixed image pool: it recognises each image and returns its true labels."""

    def __init__(self, dataset):
        super().__init__()
        self.schema = dataset.schema
        self.table = {bytes(image.numpy()): dataset.attributes[i] for i, image in enumerate(dataset.data)}

    def forward(self, images):  # features for FID: per-channel means and stds
        return torch.cat([images.float().mean(dim=(2, 3)), images.float().std(dim=(2, 3))], dim=1)

    def predict_values(self, images):
        pixels = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        return torch.stack([self.table[bytes(image.numpy())] for image in pixels])


class PerfectGenerator:
    """Returns real images that have the requested value; editing leaves images untouched."""

    def __init__(self, pool):
        self.pool = pool

    def generate(self, conditions, n, generator):
        (name, value), = conditions.items()
        rows = (self.pool.attributes[:, self.pool.schema.index(name)] == value).nonzero().squeeze(1)
        return self.pool.examples(rows[torch.randint(len(rows), (n,), generator=generator)])

    def prepare(self, x, labels):
        return x

    def edit(self, state, changes):
        return state


def test_known_scores_of_a_perfect_generator_and_an_identity_editor():
    pool = load_dataset("faces", n=300, seed=3)
    test = pool.subset(torch.arange(200, 300))
    report = evaluate_method(PerfectGenerator(pool), test, LookupOracle(pool), ["smiling", "eyeglasses"],
                             n_generate=40, n_edit=60, n_real=100)
    assert report["conditional"]["accuracy"] == {"smiling": 1.0, "eyeglasses": 1.0}
    assert report["conditional"]["mean_accuracy"] == 1.0
    assert report["edit"]["success"] == {"smiling": 0.0, "eyeglasses": 0.0}  # nothing was flipped
    assert report["edit"]["preservation"] == 1.0
    assert report["edit"]["change_l1"] == {"smiling": 0.0, "eyeglasses": 0.0}
    assert report["conditional"]["fid"] >= 0 and report["edit"]["fid"] >= 0


class NearestGenerator(PerfectGenerator):
    """Returns the real image whose continuous attribute is nearest the request (known error by construction)."""

    def generate(self, conditions, n, generator):
        (name, value), = conditions.items()
        column = self.pool.attributes[:, self.pool.schema.index(name)]
        return self.pool.examples((column - value).abs().argmin().repeat(n))


def test_continuous_attributes_are_judged_by_the_error_of_the_oracles_reading():
    pool = load_dataset("faces", n=300, seed=3)
    oracle, method = LookupOracle(pool), NearestGenerator(pool)
    report = evaluate_continuous(method, oracle, ["yaw"], n_generate=5)["yaw"]
    yaw = pool.attributes[:, pool.schema.index("yaw")].double()
    attribute = oracle.schema["yaw"]
    targets = [attribute.mean - attribute.std, attribute.mean, attribute.mean + attribute.std]
    nearest = [float(yaw[(yaw - t).abs().argmin()]) for t in targets]
    assert report["targets"] == targets and report["mean_reading"] == pytest.approx(nearest)
    assert report["mae"] == pytest.approx(sum(abs(r - t) for r, t in zip(nearest, targets, strict=True)) / 3)
    assert report["within_half_std"] == 1.0 and report["correlation"] > 0.99
    assert discrete_and_continuous(pool.schema, ["yaw", "smiling"]) == (["smiling"], ["yaw"])
