"""``faces``: procedural RGB cartoon faces with known attributes — the offline stand-in for CelebA.

Attributes (columns, in this order):

* binary ``male``, ``smiling``, ``eyeglasses``, ``beard``, ``hat``, ``bangs``;
* continuous ``yaw`` in ``[-1, 1]`` (head turn) and ``skin_tone`` in ``[0, 1]`` (pale → dark).

The attributes are correlated the way CelebA's are: a beard is almost only on men
(P = 0.40 for men, 0.01 for women), bangs and long hair are more common on women, while
smiling (0.45), eyeglasses (0.35) and hat (0.35) are independent of everything. Each one is
drawn so that a small classifier sees it at 32 px (see :func:`draw_faces`). Nuisance variation
that no attribute describes: background colour and gradient, hair colour and length, clothes,
face position and size, eye colour, lighting and pixel noise. Colours are chosen with enough
brightness contrast (skin vs background, skin vs hair, skin vs beard) that no attribute can
disappear into its surroundings.
"""

from __future__ import annotations

import numpy as np

from condgen.data.cache import load_procedural_images
from condgen.data.dataset import LabeledDataset
from condgen.data.render import (
    Canvas,
    box_distance,
    ellipse_distance,
    hsv_colors,
    luminance,
    per_image,
)
from condgen.data.schema import Attribute, AttributeSchema

#: Bump whenever sampling or drawing changes, so cached copies are regenerated.
GENERATOR_VERSION = 2
DEFAULT_N = 20000
BATCH_SIZE = 256

FACE_SCHEMA = AttributeSchema((
    Attribute("male", "binary", description="male face: square jaw, thick eyebrows, short hair, no lipstick"),
    Attribute("smiling", "binary", description="wide upturned open mouth showing teeth (else narrow and flat)"),
    Attribute("eyeglasses", "binary", description="thick dark rims around both eyes, bridge and tinted lenses"),
    Attribute("beard", "binary", description="dark beard over jaw, chin and upper lip (almost only on men)"),
    Attribute("hat", "binary", description="brightly coloured hat with a band and a brim over the head"),
    Attribute("bangs", "binary", description="hair fringe covering the forehead down to the eyebrows"),
    Attribute("yaw", "continuous", description="head turn in [-1, 1]: features shift sideways, face narrows"),
    Attribute("skin_tone", "continuous", description="skin colour from 0 (pale) to 1 (dark)"),
))

PALE_SKIN = np.array([0.98, 0.85, 0.74], np.float32)
DARK_SKIN = np.array([0.40, 0.26, 0.17], np.float32)
#: black, dark brown, brown, auburn, blonde, grey
HAIR_PALETTE = np.array([
    [0.07, 0.06, 0.06], [0.22, 0.13, 0.07], [0.42, 0.27, 0.14],
    [0.62, 0.25, 0.10], [0.92, 0.80, 0.48], [0.72, 0.72, 0.74],
], np.float32)
#: dark brown, blue, green, grey-blue
EYE_PALETTE = np.array([[0.25, 0.14, 0.07], [0.15, 0.30, 0.60], [0.20, 0.40, 0.20], [0.30, 0.35, 0.45]],
                       np.float32)
MIN_CONTRAST = 0.22  # luminance gap kept between skin and hair / background


def _choose_hair(rng: np.random.Generator, skin_luma: np.ndarray) -> np.ndarray:
    """A hair colour index per face among those far enough in brightness from the skin.

    Hair darker than the skin is preferred (weight 1 vs 0.3), so that the forehead darkens under bangs
    for most faces — which keeps bangs visible even to a linear read-out of the pixels.
    """
    gap = luminance(HAIR_PALETTE)[None, :] - skin_luma[:, None]
    weights = np.where(gap <= -MIN_CONTRAST, 1.0, np.where(gap >= MIN_CONTRAST, 0.3, 0.0))
    weights[:, 0] += 1e-6  # black is always allowed: the darkest skin is still far enough from it
    cumulative = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    return np.minimum((cumulative < rng.random((len(skin_luma), 1))).sum(axis=1), len(HAIR_PALETTE) - 1)


def _away_from(skin_luma: np.ndarray, rng: np.random.Generator, low=0.08, high=0.95) -> np.ndarray:
    """A luminance per face drawn uniformly from ``[low, high]`` minus the band around the skin's."""
    below = np.clip(skin_luma - MIN_CONTRAST - 0.03 - low, 0.0, None)
    above = np.clip(high - skin_luma - MIN_CONTRAST - 0.03, 0.0, None)
    pick = rng.random(len(skin_luma)) * (below + above)
    return np.where(pick < below, low + pick, skin_luma + MIN_CONTRAST + 0.03 + (pick - below))


def _with_luminance(rgb: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Colours ``[n, 3]`` rescaled to the luminance ``target`` ``[n]``, keeping their hue where possible."""
    scaled = np.clip(rgb * (target / np.maximum(luminance(rgb), 1e-3))[:, None], 0.0, 1.0)
    for _ in range(2):  # a channel clipped at 1 lost brightness: lift all channels towards white instead
        scaled = np.clip(scaled + (target - luminance(scaled))[:, None], 0.0, 1.0)
    return scaled.astype(np.float32)


def sample_face_parameters(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Attributes and nuisance parameters of ``n`` faces: a dict of ``[n]`` (or ``[n, 3]`` colour) arrays."""
    male = rng.random(n) < 0.5
    p = {
        "male": male,
        "smiling": rng.random(n) < 0.45,
        "eyeglasses": rng.random(n) < 0.35,
        "beard": rng.random(n) < np.where(male, 0.40, 0.01),
        "hat": rng.random(n) < 0.35,
        "bangs": rng.random(n) < np.where(male, 0.15, 0.45),
        "yaw": rng.uniform(-1.0, 1.0, n),
        "skin_tone": rng.random(n),
        "long_hair": rng.random(n) < np.where(male, 0.10, 0.80),
        "center_x": rng.uniform(-0.07, 0.07, n),
        "center_y": rng.uniform(0.08, 0.16, n),
        "scale": rng.uniform(0.88, 1.02, n),
        "hairline": rng.uniform(-0.56, -0.5, n),
        "hair_bottom": rng.uniform(0.55, 1.15, n),
        "mouth_width": rng.uniform(0.9, 1.1, n),
        "brightness": rng.uniform(0.85, 1.12, n),
        "side_light": rng.uniform(-0.12, 0.12, n),
        "background_angle": rng.uniform(0.0, 2 * np.pi, n),
    }
    skin = PALE_SKIN + (DARK_SKIN - PALE_SKIN) * p["skin_tone"][:, None]
    skin = skin * rng.uniform(0.97, 1.03, (n, 3))
    skin_luma = luminance(skin)
    p["skin"] = skin
    hair = HAIR_PALETTE[_choose_hair(rng, skin_luma)]
    p["hair"] = np.clip(hair * rng.uniform(0.9, 1.1, (n, 1)), 0.0, 1.0)
    # Beard and male eyebrows: a darkened hair colour, always clearly darker than the skin.
    dark_hair = p["hair"] * 0.5
    p["dark_hair"] = _with_luminance(dark_hair, np.clip(np.minimum(luminance(dark_hair), skin_luma - 0.2), 0.04, 0.3))
    background = hsv_colors(rng.random(n), rng.uniform(0.15, 0.55, n), np.ones(n))
    background_luma = _away_from(skin_luma, rng)
    p["background_a"] = _with_luminance(background, background_luma)
    # The second gradient colour moves further away from the skin, never towards it.
    shift = np.where(background_luma < skin_luma, -1.0, 1.0) * rng.uniform(0.0, 0.15, n)
    p["background_b"] = _with_luminance(background, np.clip(background_luma + shift, 0.04, 1.0))
    p["clothes"] = hsv_colors(rng.random(n), rng.uniform(0.3, 0.8, n), rng.uniform(0.3, 0.8, n))
    p["hat_color"] = hsv_colors(rng.random(n), rng.uniform(0.75, 0.95, n), rng.uniform(0.75, 0.95, n))
    p["eye_color"] = EYE_PALETTE[rng.integers(0, len(EYE_PALETTE), n)]
    lipstick = np.array([0.80, 0.12, 0.24], np.float32) * rng.uniform(0.85, 1.05, (n, 1))
    natural_lips = skin * np.array([0.78, 0.58, 0.55], np.float32)
    p["lips"] = np.where(male[:, None], natural_lips, lipstick)
    return p


class _Face:
    """Per-image face geometry of a batch, in face-local units (about ±0.5 wide, ±0.6 tall at scale 1).

    ``x = (u - center_x) / scale`` and ``y = (v - center_y) / scale``; distances are converted back to
    canvas units (× scale) before painting so the anti-aliasing ramp stays one pixel wide.
    """

    def __init__(self, p: dict[str, np.ndarray], canvas: Canvas):
        self.p, self.canvas = p, canvas
        self.cx, self.cy, self.s = per_image(p["center_x"]), per_image(p["center_y"]), per_image(p["scale"])
        self.yaw = per_image(p["yaw"])
        self.male = per_image(p["male"])
        # A turned head is narrower and its features slide towards the side it turns to.
        self.half_width = 0.46 * (1.0 - 0.1 * np.abs(self.yaw)) * (1.0 + 0.04 * self.male)
        self.half_height = np.float32(0.6)
        self.shift = 0.12 * self.yaw

    def paint(self, distance, color, box, opacity=None):
        """Paint ``distance(x, y) < 0`` (face-local) inside the face-local ``box = (x0, y0, x1, y1)``."""
        x0, y0, x1, y1 = box
        window = (float((self.cx + x0 * self.s).min()), float((self.cy + y0 * self.s).min()),
                  float((self.cx + x1 * self.s).max()), float((self.cy + y1 * self.s).max()))
        self.canvas.fill(lambda u, v: distance((u - self.cx) / self.s, (v - self.cy) / self.s) * self.s,
                         color, window, opacity)

    def head_distance(self, x, y, grow=0.0):
        """Face outline: round forehead; square jaw for men, a narrowing egg-shaped chin for women."""
        w, h = self.half_width + grow, self.half_height + grow
        x, y = x / w, y / h
        lower_y = np.clip(y, 0.0, 1.0)
        female = np.sqrt((x / (1.0 - 0.22 * lower_y)) ** 2 + y * y)
        male = np.sqrt(np.sqrt(x ** 4 + y ** 4))
        radius = np.where(y < 0, np.sqrt(x * x + y * y), self.male * male + (1.0 - self.male) * female)
        return (radius - 1.0) * np.minimum(w, h)

    def eye(self, side: int):
        """``(x, y, rx, ry)`` of the left (-1) or right (+1) eye; the eye on the far side is foreshortened."""
        away = np.maximum(side * self.yaw, 0.0)
        x = self.shift + side * 0.19 * (1.0 - 0.2 * side * self.yaw)
        return x, np.float32(-0.05), 0.095 * (1.0 - 0.3 * away), np.float32(0.062)


def draw_faces(p: dict[str, np.ndarray], size: int, noise_rng: np.random.Generator) -> np.ndarray:
    """Render a batch of faces from :func:`sample_face_parameters` output → ``uint8 [B, 3, size, size]``."""
    n = len(p["male"])
    canvas = Canvas(n, size)
    canvas.fill_background(p["background_a"], p["background_b"], p["background_angle"])
    f = _Face(p, canvas)
    skin, hair, dark_hair = p["skin"], p["hair"], p["dark_hair"]
    wide = (-1.2, -1.2, 1.2, 1.2)

    # Long hair hangs behind the head down to the shoulders; the back of the head moves against the turn.
    top, bottom = -0.66, per_image(p["hair_bottom"])
    f.paint(lambda x, y: box_distance(x + 0.5 * f.shift, y - (top + bottom) / 2, f.half_width + 0.13,
                                      (bottom - top) / 2, 0.25), hair, wide, p["long_hair"])
    f.paint(lambda x, y: ellipse_distance(x, y - 1.3, 0.95, 0.5), p["clothes"], (-1.0, 0.7, 1.0, 1.9))
    f.paint(lambda x, y: box_distance(x, y - 0.8, 0.18, 0.4), skin * 0.8, (-0.2, 0.3, 0.2, 1.3))
    for side in (-1, 1):
        ear_width = 0.07 * (1.0 - 0.6 * np.maximum(-side * f.yaw, 0.0))
        f.paint(lambda x, y, side=side, rx=ear_width: ellipse_distance(x - side * f.half_width, y - 0.02, rx, 0.11),
                skin * 0.9, (-0.6, -0.15, 0.6, 0.15))
    f.paint(f.head_distance, skin, (-0.55, -0.65, 0.55, 0.65))

    # Short hair is a cap whose hairline curves down at the temples; bangs are a jagged fringe below it.
    hairline = per_image(p["hairline"])
    f.paint(lambda x, y: np.maximum(ellipse_distance(x + 0.3 * f.shift, y + 0.03, f.half_width + 0.05, 0.69),
                                    y - hairline - 1.2 * (x - 0.5 * f.shift) ** 2), hair, (-0.6, -0.75, 0.6, 0.1))
    fringe = lambda x: -0.17 - 0.04 * np.abs(np.mod((x - f.shift) * 10.0, 2.0) - 1.0)  # noqa: E731
    f.paint(lambda x, y: np.maximum(ellipse_distance(x, y + 0.02, f.half_width + 0.03, 0.64), y - fringe(x)),
            hair, (-0.6, -0.7, 0.6, -0.15), p["bangs"])

    # A full beard: the jaw region below the cheekbones, slightly bulkier than the face, moustache included.
    f.paint(lambda x, y: np.maximum(f.head_distance(x, y, grow=0.045), 0.15 - 0.35 * (x - f.shift) ** 2 - y),
            dark_hair, (-0.6, 0.0, 0.6, 0.7), p["beard"])
    f.paint(lambda x, y: ellipse_distance(x - 1.3 * f.shift, y - 0.08, 0.045, 0.08), skin * 0.8,
            (-0.3, -0.05, 0.3, 0.2))

    # Make-up: rosy cheeks on women (together with lipstick the cue that does not depend on hair).
    for side in (-1, 1):
        f.paint(lambda x, y, side=side: ellipse_distance(x - f.shift - side * 0.25, y - 0.13, 0.1, 0.06),
                np.broadcast_to(np.array([0.95, 0.35, 0.45], np.float32), (n, 3)), (-0.5, 0.0, 0.5, 0.25),
                0.35 * (1.0 - p["male"]))

    eye_box = (-0.6, -0.3, 0.6, 0.15)
    eyes = [f.eye(-1), f.eye(1)]
    for ex, ey, rx, ry in eyes:
        f.paint(lambda x, y, ex=ex, ey=ey, rx=rx, ry=ry: ellipse_distance(x - ex, y - ey, rx, ry),
                np.full((n, 3), 0.96, np.float32), eye_box)
        f.paint(lambda x, y, ex=ex, ey=ey, rx=rx, ry=ry: np.maximum(
            ellipse_distance(x - ex - 0.02 * f.yaw, y - ey, 0.05, 0.05), ellipse_distance(x - ex, y - ey, rx, ry)),
            p["eye_color"], eye_box)
        # Eyebrows: thick and straight for men, thin and arched for women.
        thickness = np.where(f.male > 0, 0.048, 0.018)
        brow_color = np.where(per_image(p["male"])[:, :, 0] > 0, dark_hair, hair * 0.6)
        f.paint(lambda x, y, ex=ex, th=thickness: ellipse_distance(
            x - ex, y + 0.22 - (1.0 - f.male) * 2.0 * (x - ex) ** 2, 0.115, th), brow_color, eye_box)

    # Eyeglasses: tinted lenses, then thick rims around both eyes joined by a bar (bridge + temples).
    lens = [lambda x, y, e=e: ellipse_distance(x - e[0], y - e[1], e[2] + 0.055, 0.1) for e in eyes]
    tint = np.broadcast_to(np.array([0.75, 0.85, 0.95], np.float32), (n, 3))
    f.paint(lambda x, y: np.minimum(lens[0](x, y), lens[1](x, y)), tint, eye_box, 0.35 * p["eyeglasses"])
    rims = lambda x, y: np.minimum(np.abs(lens[0](x, y)), np.abs(lens[1](x, y))) - 0.036  # noqa: E731
    # The bar runs between the lenses and on to the face edges (temples), never past them.
    bar = lambda x, y: np.maximum(  # noqa: E731
        np.maximum(np.abs(y + 0.06) - 0.022, f.head_distance(x, y, grow=0.01)),
        -np.minimum(lens[0](x, y), lens[1](x, y)))
    f.paint(lambda x, y: np.minimum(rims(x, y), bar(x, y)), np.full((n, 3), 0.06, np.float32), eye_box,
            p["eyeglasses"])

    _draw_mouth(f, p)
    # Hat: crown with rounded top, a darker band, and a wide brim.
    hat_x = 0.5 * f.shift
    f.paint(lambda x, y: box_distance(x - hat_x, y + 0.71, 0.43, 0.27, 0.14), p["hat_color"],
            (-0.5, -1.0, 0.5, -0.4), p["hat"])
    f.paint(lambda x, y: box_distance(x - hat_x, y + 0.5, 0.43, 0.04), p["hat_color"] * 0.55,
            (-0.5, -0.6, 0.5, -0.4), p["hat"])
    f.paint(lambda x, y: box_distance(x - hat_x, y + 0.43, 0.62, 0.05, 0.04), p["hat_color"] * 0.4,
            (-0.7, -0.5, 0.7, -0.35), p["hat"])

    # Lighting: overall brightness and a soft left-right gradient.
    _, _, u, _ = canvas.grid()
    canvas.rgb *= (per_image(p["brightness"]) * (1.0 + per_image(p["side_light"]) * u))[:, None]
    return canvas.to_uint8(noise_rng, noise_std=0.012)


def _draw_mouth(f: _Face, p: dict[str, np.ndarray]) -> None:
    """Smile: a wide crescent open mouth with teeth; otherwise a narrow, slightly downturned closed mouth."""
    n = len(p["male"])
    box = (-0.45, 0.1, 0.45, 0.5)
    width = 0.25 * per_image(p["mouth_width"])

    def crescent(x, y, grow=0.0, teeth_only=False):
        t = np.clip((x - f.shift) / width, -1.0, 1.0)
        upper = 0.22 + 0.045 * (1.0 - t * t)
        lower = upper + 0.055 if teeth_only else 0.22 + 0.2 * (1.0 - t * t)
        return np.maximum(np.maximum(upper - grow - y, y - lower - grow), np.abs(x - f.shift) - width - grow)

    smiling = p["smiling"]
    f.paint(lambda x, y: crescent(x, y, grow=0.03), p["lips"], box, smiling)
    f.paint(crescent, np.broadcast_to(np.array([0.35, 0.05, 0.08], np.float32), (n, 3)), box, smiling)
    f.paint(lambda x, y: np.maximum(crescent(x, y, teeth_only=True), crescent(x, y)),
            np.full((n, 3), 0.97, np.float32), box, smiling)
    half_thickness = np.where(f.male > 0, 0.028, 0.038)
    closed_width = 0.5 * width
    f.paint(lambda x, y: np.maximum(np.abs(y - 0.31 - 2.5 * (x - f.shift) ** 2) - half_thickness,
                                    np.abs(x - f.shift) - closed_width), p["lips"], box, 1.0 - smiling)


def face_attributes(params: dict[str, np.ndarray]) -> np.ndarray:
    """The ``float32 [n, 8]`` attribute table in :data:`FACE_SCHEMA` order."""
    return np.stack([params[name] for name in FACE_SCHEMA.names], axis=1).astype(np.float32)


def generate_faces(n: int, size: int, seed: int) -> dict[str, np.ndarray]:
    """``{"images": uint8 [n, 3, size, size], "attributes": float32 [n, 8]}``, deterministic in ``seed``."""
    params = sample_face_parameters(n, np.random.default_rng(seed))
    images = np.empty((n, 3, size, size), np.uint8)
    for start in range(0, n, BATCH_SIZE):
        stop = min(start + BATCH_SIZE, n)
        batch = {k: v[start:stop] for k, v in params.items()}
        noise_rng = np.random.default_rng([seed, start, 0xFACE])
        images[start:stop] = draw_faces(batch, size, noise_rng)
    return {"images": images, "attributes": face_attributes(params)}


def load_faces(n: int | None = None, size: int = 32, seed: int = 0, **options) -> LabeledDataset:
    """The built-in ``faces`` data set: ``data`` uint8 ``[n, 3, size, size]``, 8 attributes.

    Args:
        n: number of faces (default 20,000).
        size: image side in pixels (any integer 16…512; 32 and 64 are the usual).
        seed: generation seed; the same arguments always give the same bytes.
        options: ``cache=False`` skips the on-disk cache under ``$CONDGEN_CACHE``.
    """
    return load_procedural_images("faces", FACE_SCHEMA, generate_faces, GENERATOR_VERSION,
                                  DEFAULT_N if n is None else n, size, seed, options)
