"""Vectorised drawing of a batch of small RGB images from signed-distance shapes.

Every shape is described by an (approximate) signed distance ``d`` to its outline, negative
inside. Painting turns it into coverage ``clip(0.5 - d / pixel, 0, 1)``: a one-pixel linear
ramp across the edge. That is analytic anti-aliasing — it looks like supersampling by a box
filter but costs one evaluation per pixel instead of four, which is what lets tens of thousands
of images be drawn per minute.

Coordinates: the image spans ``[-1, 1]`` in both directions, ``u`` to the right and ``v`` down;
pixel centres sit at ``-1 + (i + 0.5) * 2 / size``. Per-image parameters are arrays of shape
``[B, 1, 1]`` so that they broadcast against the grid (``u``: ``[1, 1, W]``, ``v``: ``[1, H, 1]``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from matplotlib.colors import hsv_to_rgb

from condgen.errors import ConfigError

MIN_SIZE, MAX_SIZE = 16, 512
LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def check_size(size: int, dataset: str) -> int:
    """Validate an image side length; every integer in ``[16, 512]`` works (32 and 64 are the usual)."""
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not MIN_SIZE <= size <= MAX_SIZE:
        raise ConfigError(
            f"{dataset}: image size must be an integer pixel side between {MIN_SIZE} and {MAX_SIZE} "
            f"(e.g. 32 or 64), got {size!r}"
        )
    return int(size)


def check_count(n: int, dataset: str) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ConfigError(f"{dataset}: -n must be a positive number of examples, got {n!r}")
    return int(n)


def draw_in_batches(params: dict[str, np.ndarray], draw, channels: int, size: int, seed: int, batch_size: int,
                    salt: int) -> np.ndarray:
    """``draw(batch_params, size, noise_rng) -> uint8 [b, channels, size, size]`` over slices of ``params``
    (a dict of ``[n]`` arrays); each slice's pixel noise is seeded by ``(seed, start, salt)``."""
    n = len(next(iter(params.values())))
    images = np.empty((n, channels, size, size), np.uint8)
    for start in range(0, n, batch_size):
        batch = {k: v[start:start + batch_size] for k, v in params.items()}
        images[start:start + batch_size] = draw(batch, size, np.random.default_rng([seed, start, salt]))
    return images


def per_image(values: np.ndarray) -> np.ndarray:
    """``[B]`` → ``[B, 1, 1]`` float32, ready to broadcast against a pixel grid."""
    return np.asarray(values, np.float32).reshape(-1, 1, 1)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Perceived brightness of colours ``[..., 3]`` in ``[0, 1]``."""
    return rgb @ LUMA


def hsv_colors(hue: np.ndarray, saturation: np.ndarray, value: np.ndarray) -> np.ndarray:
    """``[B]`` hue/saturation/value in ``[0, 1]`` → RGB ``[B, 3]`` float32."""
    return hsv_to_rgb(np.stack([hue % 1.0, saturation, value], axis=-1)).astype(np.float32)


# -- signed distances (negative inside) -------------------------------------------------------------
def ellipse_distance(x, y, rx, ry):
    """Approximate signed distance to the axis-aligned ellipse with radii ``rx``, ``ry`` at the origin.

    Scaling the normalised radius by the smaller radius keeps the edge ramp at least one pixel wide
    everywhere, so thin ellipses never alias.
    """
    return (np.sqrt((x / rx) ** 2 + (y / ry) ** 2) - 1.0) * np.minimum(rx, ry)


def box_distance(x, y, half_width, half_height, radius=0.0):
    """Exact signed distance to an axis-aligned box (corners rounded by ``radius``) centred at the origin."""
    qx = np.abs(x) - half_width + radius
    qy = np.abs(y) - half_height + radius
    outside = np.sqrt(np.maximum(qx, 0.0) ** 2 + np.maximum(qy, 0.0) ** 2)
    return outside + np.minimum(np.maximum(qx, qy), 0.0) - radius


def rotate(x, y, angle):
    """Coordinates ``(x, y)`` expressed in a frame rotated by ``angle`` (radians)."""
    cos, sin = np.cos(angle), np.sin(angle)
    return cos * x + sin * y, cos * y - sin * x


class Canvas:
    """A batch of ``B`` RGB images ``float32 [B, 3, S, S]`` in ``[0, 1]`` that shapes are painted onto."""

    def __init__(self, batch: int, size: int):
        self.size = size
        self.pixel = 2.0 / size
        self.axis = ((np.arange(size, dtype=np.float32) + 0.5) * self.pixel - 1.0).astype(np.float32)
        self.rgb = np.zeros((batch, 3, size, size), np.float32)

    def _pixels(self, low: float, high: float) -> slice:
        # One spare pixel on each side holds the anti-aliased edge.
        first = int(np.floor((low + 1.0) / self.pixel)) - 1
        last = int(np.ceil((high + 1.0) / self.pixel)) + 1
        return slice(max(first, 0), min(max(last, 0), self.size))

    def grid(self, window: tuple[float, float, float, float] | None = None):
        """``(rows, cols, u [1, 1, w], v [1, h, 1])`` of the pixels inside ``(left, top, right, bottom)``."""
        if window is None:
            rows = cols = slice(0, self.size)
        else:
            left, top, right, bottom = window
            rows, cols = self._pixels(top, bottom), self._pixels(left, right)
        return rows, cols, self.axis[cols].reshape(1, 1, -1), self.axis[rows].reshape(1, -1, 1)

    def fill_background(self, color_a: np.ndarray, color_b: np.ndarray, angle: np.ndarray) -> None:
        """Linear gradient from ``color_a`` to ``color_b`` (``[B, 3]``) along direction ``angle`` ``[B]``."""
        _, _, u, v = self.grid()
        along = (np.cos(per_image(angle)) * u + np.sin(per_image(angle)) * v) * 0.35 + 0.5  # [B, S, S]
        a, b = color_a[:, :, None, None], color_b[:, :, None, None]
        self.rgb[:] = a + (b - a) * along[:, None]

    def fill(
        self,
        distance: Callable[[np.ndarray, np.ndarray], np.ndarray],
        color: np.ndarray,
        window: tuple[float, float, float, float] | None = None,
        opacity: np.ndarray | float | None = None,
    ) -> None:
        """Paint the shape ``distance(u, v) < 0`` in ``color`` (``[B, 3]``), only inside ``window``.

        ``opacity`` (``[B]`` or a number) scales the coverage; 0 leaves an image untouched, which is
        how a feature is drawn on only some images of the batch.
        """
        rows, cols, u, v = self.grid(window)
        if rows.start >= rows.stop or cols.start >= cols.stop:
            return
        alpha = np.clip(0.5 - distance(u, v) / np.float32(self.pixel), 0.0, 1.0).astype(np.float32, copy=False)
        alpha = np.broadcast_to(alpha, (self.rgb.shape[0], rows.stop - rows.start, cols.stop - cols.start))
        if opacity is not None:
            alpha = alpha * (per_image(opacity) if np.ndim(opacity) else np.float32(opacity))
        target = self.rgb[:, :, rows, cols]  # a view: painting writes into the canvas
        target += alpha[:, None] * (np.asarray(color, np.float32)[:, :, None, None] - target)

    def to_uint8(self, noise_rng: np.random.Generator | None = None, noise_std: float = 0.0) -> np.ndarray:
        """Finish the batch: optional Gaussian pixel noise, clip, and quantise to ``uint8 [B, 3, S, S]``."""
        image = self.rgb
        if noise_rng is not None and noise_std > 0:
            image = image + noise_rng.standard_normal(image.shape, dtype=np.float32) * np.float32(noise_std)
        return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
