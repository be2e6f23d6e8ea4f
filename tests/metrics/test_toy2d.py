"""Mode coverage on 2-D mixtures, against hand-counted samples."""

import pytest
import torch

from condgen.data.toy2d import make_toy2d
from condgen.metrics.toy2d import mode_coverage, toy2d_quality

CENTERS = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])


def test_counts_high_quality_samples_per_nearest_mode():
    samples = torch.tensor([
        [0.1, 0.0], [0.0, -0.2], [0.25, 0.0],  # mode 0, within 3·0.1
        [10.0, 0.29],                          # mode 1, within
        [10.0, 0.31],                          # mode 1, just outside 3 std: not high quality
        [5.0, 5.0],                            # between modes
    ])
    result = mode_coverage(samples, CENTERS, std=0.1, min_count=1)
    assert result == {"modes_covered": 2, "high_quality_share": pytest.approx(4 / 6), "samples_per_mode": [3, 1, 0]}
    assert mode_coverage(samples, CENTERS, std=0.1, min_count=2)["modes_covered"] == 1


def test_default_threshold_is_a_fifth_of_a_uniform_share():
    # 30 samples, 3 modes → a uniform share of 10, so a mode needs ceil(0.2 · 10) = 2 samples.
    samples = torch.cat([torch.zeros(27, 2), torch.tensor([[10.0, 0.0]] * 2), torch.tensor([[0.0, 10.0]])])
    assert mode_coverage(samples, CENTERS, std=0.1)["samples_per_mode"] == [27, 2, 1]
    assert mode_coverage(samples, CENTERS, std=0.1)["modes_covered"] == 2


def test_rejects_mismatched_shapes_and_bad_std():
    with pytest.raises(ValueError, match="must agree"):
        mode_coverage(torch.zeros(4, 3), CENTERS, std=0.1)
    with pytest.raises(ValueError, match="std must be positive"):
        mode_coverage(torch.zeros(4, 2), CENTERS, std=0.0)


@pytest.mark.parametrize("variant, modes", [("8gaussians", 8), ("25gaussians", 25), ("moons", 8), ("swissroll", 10)])
def test_the_data_itself_covers_every_mode_with_high_quality(variant, modes):
    data = make_toy2d(variant, n=3000, seed=5).data
    quality = toy2d_quality(data, variant)
    assert quality["modes"] == quality["modes_total"] == modes
    assert quality["high_quality"] > 0.97
    # Each mode holds about a uniform share of the data.
    assert min(quality["samples_per_mode"]) > 0.6 * 3000 / modes


def test_curve_coverage_sees_a_model_that_draws_one_moon_or_wider_noise():
    data = make_toy2d("moons", n=3000, seed=1)
    upper = data.data[data.attributes[:, 0] == 0]
    assert toy2d_quality(upper, "moons")["modes"] == 4          # the 4 arcs of one moon
    blurred = make_toy2d("moons", n=3000, seed=1, noise=0.3).data
    assert toy2d_quality(blurred, "moons")["high_quality"] < 0.6
    inner = make_toy2d("swissroll", n=3000, seed=1)
    centre = inner.data[inner.attributes[:, 0] < 0.3]
    assert toy2d_quality(centre, "swissroll")["modes"] == 3
