"""The 2-D toy sets: determinism, shapes, attribute meaning and the exported mixture modes."""

import numpy as np
import pytest
import torch

from condgen.data import load_dataset, load_from_spec
from condgen.data.toy2d import make_toy2d, toy2d_modes
from condgen.errors import ConfigError

VARIANTS = ["8gaussians", "25gaussians", "moons", "swissroll"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_deterministic_float32_vectors_with_one_attribute(variant):
    first = make_toy2d(variant, n=500, seed=3)
    again = make_toy2d(variant, n=500, seed=3)
    other = make_toy2d(variant, n=500, seed=4)
    assert first.data.dtype == torch.float32 and first.data.shape == (500, 2)
    assert first.attributes.shape == (500, 1) and first.modality.name == "vectors"
    assert torch.equal(first.data, again.data) and torch.equal(first.attributes, again.attributes)
    assert not torch.equal(first.data, other.data)
    assert first.spec == {"name": "toy2d", "variant": variant, "n": 500, "seed": 3, "modality": "vectors"}
    assert torch.equal(load_from_spec(first.spec).data, first.data)


@pytest.mark.parametrize("variant, count, extent", [("8gaussians", 8, 2.0), ("25gaussians", 25, 4.0)])
def test_mixture_points_sit_on_the_centre_named_by_their_mode(variant, count, extent):
    centers, std = toy2d_modes(variant)
    assert centers.shape == (count, 2) and std == pytest.approx(0.1)
    assert np.abs(centers).max() == pytest.approx(extent)
    data = make_toy2d(variant, n=4000, seed=0)
    assert data.schema.names == ["mode"] and data.schema["mode"].categories == tuple(map(str, range(count)))
    mode = data.attributes[:, 0].long().numpy()
    offsets = data.data.numpy() - centers[mode]
    assert offsets.std(axis=0) == pytest.approx([std, std], rel=0.06)
    assert np.abs(offsets.mean(axis=0)).max() < 0.01
    # Every point is closest to its own centre (the modes are well separated), and all are used.
    nearest = np.argmin(((data.data.numpy()[:, None] - centers[None]) ** 2).sum(-1), axis=1)
    assert (nearest == mode).mean() == 1.0
    assert np.bincount(mode, minlength=count).min() > 4000 / count * 0.7


def test_ring_centres_are_evenly_spaced_at_radius_two():
    centers, _ = toy2d_modes("8gaussians")
    assert np.linalg.norm(centers, axis=1) == pytest.approx([2.0] * 8)
    assert centers[2] == pytest.approx([0.0, 2.0], abs=1e-12)


def test_moons_label_says_which_half_circle():
    moons = make_toy2d("moons", n=2000, seed=1)
    assert moons.schema["moon"].kind == "binary"
    upper = moons.attributes[:, 0] == 0
    assert upper.float().mean() == pytest.approx(0.5, abs=0.01)
    # The upper moon is centred at (0, 0.64), the lower at (1, -0.14) (means of the half circles).
    assert moons.data[upper].mean(0).tolist() == pytest.approx([0.0, 2 / np.pi], abs=0.05)
    assert moons.data[~upper].mean(0).tolist() == pytest.approx([1.0, 0.5 - 2 / np.pi], abs=0.05)


def test_swissroll_position_grows_with_distance_from_the_centre():
    roll = make_toy2d("swissroll", n=2000, seed=2)
    position = roll.attributes[:, 0]
    assert roll.schema["position"].kind == "continuous"
    assert 0.0 <= position.min() and position.max() <= 1.0
    radius = roll.data.norm(dim=1)
    expected = (1.5 * np.pi + 3 * np.pi * position) / 5.0  # spiral radius t / 5
    assert (radius - expected).abs().mean() < 0.15


def test_noise_option_and_registry_round_trip():
    tight = load_dataset("toy2d-8gaussians", n=2000, seed=0, noise=0.01)
    assert tight.spec["noise"] == 0.01
    mode = tight.attributes[:, 0].long().numpy()
    centers, std = toy2d_modes("8gaussians", noise=0.01)
    assert (tight.data.numpy() - centers[mode]).std() == pytest.approx(std, rel=0.1)
    assert torch.equal(load_from_spec(tight.spec).data, tight.data)


def test_invalid_requests_are_config_errors():
    with pytest.raises(ConfigError, match="variant"):
        make_toy2d("9gaussians")
    with pytest.raises(ConfigError, match="not a Gaussian mixture"):
        toy2d_modes("moons")
    with pytest.raises(ConfigError, match="noise"):
        make_toy2d("moons", n=10, noise=-1.0)
    with pytest.raises(ConfigError, match="unknown option"):
        make_toy2d("moons", n=10, radius=3)
