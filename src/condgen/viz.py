"""Pictures: image grids and labelled rows, written atomically as PNG."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from condgen.io import atomic_write_bytes


def to_uint8_hwc(images: torch.Tensor) -> np.ndarray:
    """``[N, C, H, W]`` in ``[-1, 1]`` (float) or 0…255 (uint8) → ``uint8 [N, H, W, 3]``."""
    images = images.detach().cpu()
    if images.dtype != torch.uint8:
        images = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    return images.permute(0, 2, 3, 1).numpy()


def grid_image(images: torch.Tensor, nrow: int | None = None, padding: int = 2, scale: int = 1) -> Image.Image:
    """Tile ``[N, C, H, W]`` images into one PIL image with ``nrow`` images per row."""
    pixels = to_uint8_hwc(images)
    n, h, w, _ = pixels.shape
    nrow = nrow or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / nrow)
    canvas = np.full((rows * (h + padding) + padding, nrow * (w + padding) + padding, 3), 255, np.uint8)
    for i in range(n):
        r, c = divmod(i, nrow)
        top, left = padding + r * (h + padding), padding + c * (w + padding)
        canvas[top:top + h, left:left + w] = pixels[i]
    image = Image.fromarray(canvas)
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    return image


def save_png(image: Image.Image, path: str | Path) -> Path:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    atomic_write_bytes(Path(path), buffer.getvalue())
    return Path(path)


def save_grid(images: torch.Tensor, path: str | Path, nrow: int | None = None, scale: int = 2) -> Path:
    """Save ``[N, C, H, W]`` images as one PNG grid."""
    return save_png(grid_image(images, nrow=nrow, scale=scale), path)


def save_labeled_rows(
    rows: Sequence[torch.Tensor],
    column_titles: Sequence[str],
    path: str | Path,
    row_titles: Sequence[str] | None = None,
    scale: int = 3,
) -> Path:
    """Save a table of images: one ``[M, C, H, W]`` tensor per row, a title above each column.

    This is the classic attribute-manipulation figure: rows of examples, columns of edits.
    """
    grid = grid_image(torch.cat(list(rows)), nrow=rows[0].shape[0], scale=scale)
    header = 16
    margin = 6 * max(len(t) for t in row_titles) + 8 if row_titles else 0
    canvas = Image.new("RGB", (grid.width + margin, grid.height + header), "white")
    canvas.paste(grid, (margin, header))
    draw = ImageDraw.Draw(canvas)
    cell = grid.width / len(column_titles)
    for i, title in enumerate(column_titles):
        draw.text((margin + i * cell + 3, 2), title[: max(4, int(cell // 6) - 1)], fill="black")  # ~6 px a glyph
    if row_titles:
        row_height = grid.height / len(row_titles)
        for i, title in enumerate(row_titles):
            draw.text((2, header + i * row_height + row_height / 2 - 5), title, fill="black")
    return save_png(canvas, path)
