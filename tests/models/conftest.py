"""Tiny data sets for the model tests: random images / vectors with one attribute of each kind."""

import pytest
import torch

from condgen.data.dataset import LabeledDataset
from condgen.data.schema import Attribute, AttributeSchema

SCHEMA = AttributeSchema((
    Attribute("smiling", "binary"),
    Attribute("age", "continuous"),
    Attribute("colour", "categorical", categories=("red", "green", "blue")),
))
#: The smallest options that still exercise every layer: for quick shape and save/load tests.
TINY = {"latent_dim": 4, "base_channels": 4, "hidden": 8, "depth": 1}


def _attributes(n: int, generator: torch.Generator) -> torch.Tensor:
    values = torch.stack([
        torch.randint(0, 2, (n,), generator=generator).float(),
        20 + 40 * torch.rand(n, generator=generator),
        torch.randint(0, 3, (n,), generator=generator).float(),
    ], dim=1)
    values[::5, 0] = float("nan")  # some labels missing, as in real data
    values[1::7, 2] = float("nan")
    return values


def make_images(n: int = 16, size: int = 16, channels: int = 3, seed: int = 0) -> LabeledDataset:
    """``uint8 [n, channels, size, size]`` random images with the three attributes of :data:`SCHEMA`."""
    generator = torch.Generator().manual_seed(seed)
    data = torch.randint(0, 256, (n, channels, size, size), generator=generator, dtype=torch.uint8)
    attributes = _attributes(n, generator)
    return LabeledDataset(data, attributes, SCHEMA.with_statistics(attributes),
                          {"name": "random-images", "modality": "images"})


def make_vectors(n: int = 32, dim: int = 5, seed: int = 0) -> LabeledDataset:
    """``float32 [n, dim]`` Gaussian vectors with the three attributes of :data:`SCHEMA`."""
    generator = torch.Generator().manual_seed(seed)
    attributes = _attributes(n, generator)
    data = 3 * torch.randn(n, dim, generator=generator)
    return LabeledDataset(data, attributes, SCHEMA.with_statistics(attributes),
                          {"name": "random-vectors", "modality": "vectors"})


@pytest.fixture
def images():
    return make_images


@pytest.fixture
def vectors():
    return make_vectors


@pytest.fixture
def tiny():
    return dict(TINY)


#: The smallest diffusion UNet that learns :func:`make_bars` in a few hundred steps (~40 k weights, no attention).
TINY_UNET = {"block_channels": (8, 16), "attention": False, "lr": 3e-3}


def make_bars(n: int = 64, seed: int = 0) -> LabeledDataset:
    """A tiny image set the diffusion tests learn: ``uint8 [n, 1, 8, 8]`` images, each one full bar of 255 on 0
    at a position 1..6, horizontal or vertical, with the binary attribute ``vertical``."""
    generator = torch.Generator().manual_seed(seed)
    vertical = torch.randint(0, 2, (n,), generator=generator)
    position = torch.randint(1, 7, (n,), generator=generator)
    images = torch.zeros(n, 1, 8, 8, dtype=torch.uint8)
    for i in range(n):
        if vertical[i]:
            images[i, 0, :, position[i]] = 255
        else:
            images[i, 0, position[i], :] = 255
    values = vertical.float()[:, None]
    schema = AttributeSchema((Attribute("vertical", "binary"),)).with_statistics(values)
    return LabeledDataset(images, values, schema, {"name": "bars", "modality": "images"})


def orientation(images: torch.Tensor) -> torch.Tensor:
    """``[B, 1, H, W]`` in [-1, 1] → ``[B]``: the brightest column's mean minus the brightest row's mean
    (≈ +1 for a vertical bar, −1 for a horizontal one, ≈ 0 for anything else)."""
    pixels = (images[:, 0] + 1) / 2
    return pixels.mean(dim=1).max(dim=1).values - pixels.mean(dim=2).max(dim=1).values


@pytest.fixture(scope="session")
def bars() -> LabeledDataset:
    return make_bars()


@pytest.fixture(scope="session")
def tiny_unet() -> dict:
    return dict(TINY_UNET)


@pytest.fixture(scope="session")
def bar_orientation():
    return orientation
