"""``segments``: seven-segment digits 0–9, a procedural 10-class image set (greyscale, 16 px by default).

Attributes (columns, in this order):

* ``label`` — categorical ``"0"`` … ``"9"``, the digit shown (uniform);
* ``slant`` — continuous in ``[-0.3, 0.3]``: the digit's shear, left (−) to right (+);
* ``thickness`` — continuous in ``[0, 1]``: the segments' stroke width, thin → bold.

Nuisance variation that no attribute describes: position, size, brightness of the strokes and of the
background, and pixel noise. It is the set for checking a categorical attribute with many classes
(every class must be generated as well as every other), where the 8×8 scikit-learn digits are too few.
"""

from __future__ import annotations

import numpy as np

from condgen.data.cache import load_procedural_images
from condgen.data.dataset import LabeledDataset
from condgen.data.render import Canvas, box_distance, draw_in_batches, per_image
from condgen.data.schema import Attribute, AttributeSchema

GENERATOR_VERSION = 1
DEFAULT_N = 10000
DEFAULT_SIZE = 16
BATCH_SIZE = 1024

SEGMENTS_SCHEMA = AttributeSchema((
    Attribute("label", "categorical", categories=tuple(str(d) for d in range(10)), description="the digit shown"),
    Attribute("slant", "continuous", description="shear in [-0.3, 0.3], left (-) to right (+)"),
    Attribute("thickness", "continuous", description="stroke width in [0, 1], thin to bold"),
))

#: Segment centres and orientation in the digit's frame (x right, y down, box 1 wide and 2 high):
#: a top, b top-right, c bottom-right, d bottom, e bottom-left, f top-left, g middle.
SEGMENT_GEOMETRY = {
    "a": (0.0, -1.0, True), "b": (0.5, -0.5, False), "c": (0.5, 0.5, False), "d": (0.0, 1.0, True),
    "e": (-0.5, 0.5, False), "f": (-0.5, -0.5, False), "g": (0.0, 0.0, True),
}
DIGIT_SEGMENTS = ("abcdef", "bc", "abdeg", "abcdg", "bcfg", "acdfg", "acdefg", "abc", "abcdefg", "abcdfg")


def sample_segment_parameters(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Uniform independent factors of ``n`` digits plus nuisance values: a dict of ``[n]`` arrays."""
    return {
        "label": rng.integers(0, 10, n),
        "slant": rng.uniform(-0.3, 0.3, n),
        "thickness": rng.random(n),
        "x": rng.uniform(-0.12, 0.12, n),
        "y": rng.uniform(-0.08, 0.08, n),
        "scale": rng.uniform(0.62, 0.78, n),
        "ink": rng.uniform(0.75, 1.0, n),
        "background": rng.uniform(0.0, 0.15, n),
    }


def draw_segments(p: dict[str, np.ndarray], size: int, noise_rng: np.random.Generator) -> np.ndarray:
    """Render a batch of :func:`sample_segment_parameters` → ``uint8 [B, 1, size, size]``."""
    n = len(p["label"])
    canvas = Canvas(n, size)
    grey = np.repeat(p["background"][:, None], 3, axis=1).astype(np.float32)
    canvas.fill_background(grey, grey, np.zeros(n))
    scale, slant = per_image(p["scale"]), per_image(p["slant"])
    half_stroke = per_image(0.09 + 0.09 * p["thickness"])  # in the digit's frame
    lit = {s: per_image([s in DIGIT_SEGMENTS[label] for label in p["label"]]) for s in SEGMENT_GEOMETRY}

    def distance(u, v):
        y = (v - per_image(p["y"])) / scale
        x = (u - per_image(p["x"])) / scale + slant * y  # shear: the top leans by -slant
        d = np.full(np.broadcast_shapes(x.shape, y.shape), np.inf, np.float32)
        for segment, (cx, cy, horizontal) in SEGMENT_GEOMETRY.items():
            half_w, half_h = (0.5, half_stroke) if horizontal else (half_stroke, 0.5)
            box = box_distance(x - cx, y - cy, half_w, half_h, radius=half_stroke)
            d = np.where(lit[segment] > 0, np.minimum(d, box), d)
        return d * scale

    canvas.fill(distance, np.repeat(p["ink"][:, None], 3, axis=1).astype(np.float32))
    return canvas.to_uint8(noise_rng, noise_std=0.02)[:, :1]


def generate_segments(n: int, size: int, seed: int) -> dict[str, np.ndarray]:
    """``{"images": uint8 [n, 1, size, size], "attributes": float32 [n, 3]}``, deterministic in ``seed``."""
    params = sample_segment_parameters(n, np.random.default_rng(seed))
    images = draw_in_batches(params, draw_segments, 1, size, seed, BATCH_SIZE, salt=0x7E)
    attributes = np.stack([params[name] for name in SEGMENTS_SCHEMA.names], axis=1).astype(np.float32)
    return {"images": images, "attributes": attributes}


def load_segments(n: int | None = None, size: int | None = None, seed: int = 0, **options) -> LabeledDataset:
    """The built-in ``segments`` data set: ``data`` uint8 ``[n, 1, size, size]``, 3 attributes.

    Args:
        n: number of images (default 10,000).
        size: image side in pixels (16…512, default 16).
        seed: generation seed; the same arguments always give the same bytes.
        options: ``cache=False`` skips the on-disk cache under ``$CONDGEN_CACHE``.
    """
    return load_procedural_images("segments", SEGMENTS_SCHEMA, generate_segments, GENERATOR_VERSION,
                                  DEFAULT_N if n is None else n, DEFAULT_SIZE if size is None else size, seed,
                                  options)
