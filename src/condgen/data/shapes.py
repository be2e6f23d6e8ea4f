"""``shapes``: a dSprites-like set — one coloured object on a dark background, RGB.

Attributes (columns, in this order):

* ``shape`` — categorical: ``square``, ``ellipse``, ``heart``;
* ``scale`` — continuous in ``[0.5, 1]`` (object size relative to the largest);
* ``rotation`` — continuous angle in radians, ``[0, 2π)``. As in dSprites the angle is drawn
  uniformly for every shape, so it is only identifiable modulo the shape's symmetry
  (a square looks the same every π/2, an ellipse every π; a heart has none);
* ``x``, ``y`` — continuous in ``[0, 1]``: position of the object's centre, left→right and
  top→bottom, mapped to the central 58 % of the image so the object never leaves it;
* ``color`` — categorical: ``red``, ``green``, ``blue``, ``yellow``, ``white`` (each with a little
  brightness jitter).

All factors are independent and uniform. Nuisance: background brightness (near black) and a
small pixel noise.
"""

from __future__ import annotations

import numpy as np

from condgen.data.cache import load_procedural_images
from condgen.data.dataset import LabeledDataset
from condgen.data.render import (
    Canvas,
    box_distance,
    draw_in_batches,
    ellipse_distance,
    per_image,
    rotate,
)
from condgen.data.schema import Attribute, AttributeSchema

GENERATOR_VERSION = 1
DEFAULT_N = 20000
BATCH_SIZE = 512
SHAPES = ("square", "ellipse", "heart")
COLORS = ("red", "green", "blue", "yellow", "white")
COLOR_RGB = np.array([[0.92, 0.18, 0.15], [0.20, 0.80, 0.25], [0.22, 0.40, 0.95],
                      [0.95, 0.85, 0.15], [0.95, 0.95, 0.95]], np.float32)
MAX_HALF_SIZE = 0.34  # half-extent of a scale-1 object, in image units (the image spans [-1, 1])
POSITION_RANGE = 0.58  # x, y in [0, 1] map to centres in [-0.58, 0.58]

SHAPES_SCHEMA = AttributeSchema((
    Attribute("shape", "categorical", categories=SHAPES, description="object shape"),
    Attribute("scale", "continuous", description="object size in [0.5, 1] relative to the largest"),
    Attribute("rotation", "continuous", description="angle in radians in [0, 2*pi), modulo the shape's symmetry"),
    Attribute("x", "continuous", description="horizontal centre position in [0, 1], left to right"),
    Attribute("y", "continuous", description="vertical centre position in [0, 1], top to bottom"),
    Attribute("color", "categorical", categories=COLORS, description="object colour"),
))


def heart_distance(x, y):
    """Signed distance to a heart with its tip at ``(0, 0.5)`` and lobes reaching ``y ≈ -0.6`` (``v`` down).

    Inigo Quilez's exact heart distance, flipped to image coordinates and re-centred so the heart's
    bounding box is roughly ``[-0.62, 0.62] × [-0.6, 0.5]``.
    """
    px, py = np.abs(x), 0.5 - y  # py grows upwards from the tip
    lobe = np.sqrt((px - 0.25) ** 2 + (py - 0.75) ** 2) - np.sqrt(2.0) / 4.0
    along = np.maximum(px + py, 0.0) * 0.5
    to_top = (px - 0.0) ** 2 + (py - 1.0) ** 2
    to_diagonal = (px - along) ** 2 + (py - along) ** 2
    body = np.sqrt(np.minimum(to_top, to_diagonal)) * np.sign(px - py)
    return np.where(px + py > 1.0, lobe, body)


def sample_shape_parameters(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Independent uniform factors of ``n`` objects plus nuisance values: a dict of ``[n]`` arrays."""
    return {
        "shape": rng.integers(0, len(SHAPES), n),
        "scale": rng.uniform(0.5, 1.0, n),
        "rotation": rng.uniform(0.0, 2 * np.pi, n),
        "x": rng.random(n),
        "y": rng.random(n),
        "color": rng.integers(0, len(COLORS), n),
        "brightness": rng.uniform(0.85, 1.0, n),
        "background": rng.uniform(0.02, 0.12, n),
    }


def draw_shapes(p: dict[str, np.ndarray], size: int, noise_rng: np.random.Generator) -> np.ndarray:
    """Render a batch from :func:`sample_shape_parameters` output → ``uint8 [B, 3, size, size]``."""
    n = len(p["shape"])
    canvas = Canvas(n, size)
    grey = np.repeat(p["background"][:, None], 3, axis=1).astype(np.float32)
    canvas.fill_background(grey, grey * 0.6, np.full(n, np.pi / 2))
    cx = per_image((2 * p["x"] - 1) * POSITION_RANGE)
    cy = per_image((2 * p["y"] - 1) * POSITION_RANGE)
    half = per_image(p["scale"] * MAX_HALF_SIZE)
    angle, shape = per_image(p["rotation"]), per_image(p["shape"])

    def distance(u, v):
        x, y = rotate((u - cx) / half, (v - cy) / half, angle)  # unit-size object frame
        square = box_distance(x, y, 0.8, 0.8)
        ellipse = ellipse_distance(x, y, 1.0, 0.5)
        heart = heart_distance(x * 0.65, y * 0.65 - 0.04) / 0.65
        return np.where(shape == 0, square, np.where(shape == 1, ellipse, heart)) * half

    color = COLOR_RGB[p["color"]] * p["brightness"][:, None].astype(np.float32)
    canvas.fill(distance, color)
    return canvas.to_uint8(noise_rng, noise_std=0.01)


def generate_shapes(n: int, size: int, seed: int) -> dict[str, np.ndarray]:
    """``{"images": uint8 [n, 3, size, size], "attributes": float32 [n, 6]}``, deterministic in ``seed``."""
    params = sample_shape_parameters(n, np.random.default_rng(seed))
    images = draw_in_batches(params, draw_shapes, 3, size, seed, BATCH_SIZE, salt=0x5A)
    attributes = np.stack([params[name] for name in SHAPES_SCHEMA.names], axis=1).astype(np.float32)
    return {"images": images, "attributes": attributes}


def load_shapes(n: int | None = None, size: int = 32, seed: int = 0, **options) -> LabeledDataset:
    """The built-in ``shapes`` data set: ``data`` uint8 ``[n, 3, size, size]``, 6 attributes.

    Args:
        n: number of images (default 20,000).
        size: image side in pixels (any integer 16…512; 32 and 64 are the usual).
        seed: generation seed; the same arguments always give the same bytes.
        options: ``cache=False`` skips the on-disk cache under ``$CONDGEN_CACHE``.
    """
    return load_procedural_images("shapes", SHAPES_SCHEMA, generate_shapes, GENERATOR_VERSION,
                                  DEFAULT_N if n is None else n, size, seed, options)
