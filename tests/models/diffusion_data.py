"""A tiny image set the diffusion tests learn: 8×8 grey images of one bright bar, horizontal or vertical."""

import torch

from condgen.data.dataset import LabeledDataset
from condgen.data.schema import Attribute, AttributeSchema

#: the smallest UNet that learns the bars in a few hundred steps (~40 k weights, no attention)
TINY_UNET = {"block_channels": [8, 16], "attention": False, "lr": 3e-3}


def make_bars(n: int = 64, seed: int = 0) -> LabeledDataset:
    """``uint8 [n, 1, 8, 8]`` images, each one full bar of 255 on 0 at a position 1..6, with the binary
    attribute ``vertical``."""
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
    (≈ +1 for a vertical bar, −1 for a horizontal one)."""
    pixels = (images[:, 0] + 1) / 2
    return pixels.mean(dim=1).max(dim=1).values - pixels.mean(dim=2).max(dim=1).values
