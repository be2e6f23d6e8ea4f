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


def grid_columns(n: int, nrow: int | None = None) -> int:
    """Images per row of a grid of ``n`` (default: a square-ish grid)."""
    return nrow or max(1, math.ceil(math.sqrt(n)))


def grid_image(images: torch.Tensor, nrow: int | None = None, padding: int = 2, scale: int = 1) -> Image.Image:
    """Tile ``[N, C, H, W]`` images into one PIL image with ``nrow`` images per row."""
    pixels = to_uint8_hwc(images)
    n, h, w, _ = pixels.shape
    nrow = grid_columns(n, nrow)
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


def grid_cells(path: str | Path, n: int, cell: tuple[int, int], nrow: int | None = None, padding: int = 2,
               scale: int = 2, top: int = 0, left: int = 0) -> torch.Tensor:
    """The inverse of :func:`save_grid`: the ``n`` images ``uint8 [n, 3, H, W]`` of ``cell = (H, W)`` pixels
    laid out by it in the PNG at ``path`` (``top``/``left``: a header or margin above or left of the grid,
    as :func:`save_labeled_rows` draws, in output pixels). PNG is lossless, so these are exactly the
    images that were saved (as uint8)."""
    with Image.open(path) as opened:
        canvas = np.asarray(opened.convert("RGB"))
    height, width = cell
    columns, cells = grid_columns(n, nrow), []
    for i in range(n):
        row, column = divmod(i, columns)
        y = top + scale * (padding + row * (height + padding))
        x = left + scale * (padding + column * (width + padding))
        cells.append(canvas[y:y + scale * height:scale, x:x + scale * width:scale])
    return torch.from_numpy(np.stack(cells)).permute(0, 3, 1, 2).contiguous()


#: Height of the column titles above the images of :func:`save_labeled_rows`, in output pixels.
TITLE_HEIGHT = 16


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
    header = TITLE_HEIGHT
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


def save_scatter(points: torch.Tensor | np.ndarray, path: str | Path, title: str | None = None) -> Path:
    """Save 2-D points ``[N, 2]`` as a PNG scatter plot (equal axes, one small translucent dot per point)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    points = np.asarray(torch.as_tensor(points).detach().cpu().double())
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"a scatter plot needs points [N, 2], got {list(points.shape)}")
    figure = Figure(figsize=(5, 5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    alpha = float(np.clip(500 / max(len(points), 1), 0.1, 0.9))
    axes.scatter(points[:, 0], points[:, 1], s=4, alpha=alpha, color="tab:blue", linewidths=0)
    axes.set_aspect("equal", adjustable="datalim")
    axes.set_xlabel("x0")
    axes.set_ylabel("x1")
    axes.set_title(title or f"{len(points):,} samples")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    atomic_write_bytes(Path(path), buffer.getvalue())
    return Path(path)


def _figure_bytes(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def save_captioned_rows(rows: Sequence[Sequence[torch.Tensor]], captions: Sequence[Sequence[str]],
                        path: str | Path, cell_inches: float = 1.6) -> Path:
    """Save rows of images (each ``[C, H, W]`` in [-1, 1]; rows may differ in length) with a caption under each
    — e.g. an original and its counterfactuals with the attributes each one changed."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    width = max(len(row) for row in rows)
    lines = max(caption.count("\n") + 1 for row in captions for caption in row)
    figure = Figure(figsize=(cell_inches * width, (cell_inches + 0.16 * lines) * len(rows)), dpi=100)
    FigureCanvasAgg(figure)
    for i, (row, texts) in enumerate(zip(rows, captions, strict=True)):
        for j in range(width):
            axes = figure.add_subplot(len(rows), width, i * width + j + 1)
            axes.axis("off")
            if j < len(row):
                image = to_uint8_hwc(row[j].unsqueeze(0))[0]
                axes.imshow(image.squeeze(-1) if image.shape[-1] == 1 else image, cmap="gray",
                            interpolation="nearest")
                axes.set_title(texts[j], fontsize=7, y=-0.02 - 0.1 * (texts[j].count("\n") + 1), va="top")
    figure.tight_layout()
    atomic_write_bytes(Path(path), _figure_bytes(figure))
    return Path(path)


def save_bar_chart(names: Sequence[str], values: Sequence[float], path: str | Path, xlabel: str,
                   notes: Sequence[str] | None = None) -> Path:
    """Save a horizontal bar chart of ``values`` (first name on top), an optional note at each bar's end."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 0.4 * len(names) + 1.2), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = np.arange(len(names))[::-1]
    axes.barh(positions, values, color="tab:blue")
    axes.set_yticks(positions, list(names))
    axes.set_xlim(0, max(1.0, max(values, default=0) * 1.25))
    axes.set_xlabel(xlabel)
    for position, value, note in zip(positions, values, notes or [""] * len(names), strict=True):
        axes.text(value + 0.01, position, f"{value:.2f}  {note}".strip(), va="center", fontsize=8)
    figure.tight_layout()
    atomic_write_bytes(Path(path), _figure_bytes(figure))
    return Path(path)
