"""Readers for a user's own data: detect the layout of a path and load it as a :class:`LabeledDataset`.

Layouts (see :func:`load_path`):

* a CelebA folder — ``img_align_celeba/`` + ``list_attr_celeba.txt`` (:mod:`condgen.data.celeba`),
* a folder of MNIST / Fashion-MNIST IDX files (:mod:`condgen.data.idx`),
* an image folder with an attribute CSV, ``attributes.csv`` by default (:mod:`condgen.data.image_folder`).

This module also holds what the readers share: :class:`BadRows` (fail on the first bad row, or skip
bad rows and say how many), :func:`read_images` (Pillow → ``uint8 [N, C, S, S]``),
:func:`resize_batch` and :func:`finish_labels` (the ``kinds`` override, and one log line per attribute
saying its kind and why). Besides, :func:`load_sklearn_digits` loads scikit-learn's bundled digits.
"""

from __future__ import annotations

import functools
import logging
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps

from condgen.data.dataset import LabeledDataset
from condgen.data.kinds import kind_lines, parse_kinds
from condgen.data.schema import Attribute, AttributeSchema, did_you_mean
from condgen.errors import ConfigError, DataError

#: Says what each loaded attribute is and why (the CLI prints these lines; Python shows them with logging).
logger = logging.getLogger("condgen.data")

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
LAYOUTS = ("celeba", "idx", "image-folder")
PROGRESS_THRESHOLD = 2000  # below this a folder reads in about a second: a progress bar is only noise
READ_THREADS = min(8, os.cpu_count() or 1)
READ_CHUNK = 256


class SkippedRowsWarning(UserWarning):
    """Issued (one line) when ``skip_bad=True`` dropped rows with bad input or ignored unlabeled images."""


class BadRows:
    """Collects bad input rows: raises on the first one, or (with ``skip_bad``) counts and reports them.

    ``where`` names the place (``"path/attributes.csv:5"`` — file and line — or an image path);
    ``reason`` says what is wrong with it.
    """

    def __init__(self, skip_bad: bool, what: str = "rows with bad input"):
        self.skip_bad = skip_bad
        self.what = what
        self.count = 0
        self.first: str | None = None

    def report(self, where: str, reason: str) -> None:
        message = f"{where}: {reason}"
        if not self.skip_bad:
            raise DataError(f"{message} (fix it, or load with skip_bad=True to skip such rows)")
        self.count += 1
        if self.first is None:
            self.first = message

    def finish(self, total: int) -> None:
        """Warn once, in one line, if anything was skipped (never skip silently)."""
        if self.count:
            warnings.warn(
                f"skipped {self.count} of {total} {self.what} (first: {self.first})",
                SkippedRowsWarning,
                stacklevel=2,
            )


# -- images ------------------------------------------------------------------------------------------
def _center_square(image: Image.Image, side: int) -> Image.Image:
    width, height = image.size
    left, top = (width - side) // 2, (height - side) // 2
    return image.crop((left, top, left + side, top + side))


def read_image(file: Path, size: int | None, grayscale: bool = False, crop: int | None = None) -> np.ndarray:
    """One image as ``uint8 [C, H, W]`` (C = 1 if ``grayscale`` else 3).

    With ``crop`` the centre ``crop × crop`` square is cut out first; with ``size`` the image is then
    centre-cropped to a square (if it is not one) and resized to ``size × size``. Raises ``OSError``,
    ``ValueError`` or ``SyntaxError`` (Pillow's choices) for unreadable or corrupt files.
    """
    with Image.open(file) as opened:  # closed at once: large folders must not hold file handles
        # Phone photos store their rotation in EXIF; without this they would load sideways.
        image = ImageOps.exif_transpose(opened).convert("L" if grayscale else "RGB")
    if crop is not None:
        if min(image.size) < crop:
            raise ValueError(f"it is {image.size[0]}x{image.size[1]}, smaller than crop={crop}")
        image = _center_square(image, crop)
    if size is not None:
        if image.size[0] != image.size[1]:
            image = _center_square(image, min(image.size))
        if image.size != (size, size):
            image = image.resize((size, size), Image.Resampling.BICUBIC)
    array = np.asarray(image, dtype=np.uint8)
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def _read_or_error(file: Path, size: int | None, grayscale: bool, crop: int | None) -> np.ndarray | Exception:
    try:
        return read_image(file, size, grayscale, crop)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        return error


def _decode_in_threads(
    files: Sequence[Path], size: int | None, grayscale: bool, crop: int | None
) -> Iterator[np.ndarray | Exception]:
    """``read_image`` of each file, in order; a failure is yielded as its exception.

    Pillow releases the GIL while decoding, so a few threads read several times faster; chunks keep
    the number of decoded-but-unconsumed images (and the work wasted after an error) small.
    """
    read = functools.partial(_read_or_error, size=size, grayscale=grayscale, crop=crop)
    with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
        for start in range(0, len(files), READ_CHUNK):
            yield from pool.map(read, files[start : start + READ_CHUNK])


def read_images(
    entries: Sequence[tuple[Path, str]],
    size: int | None,
    bad: BadRows,
    grayscale: bool = False,
    crop: int | None = None,
) -> tuple[torch.Tensor, list[int]]:
    """Read ``(file, where)`` entries into ``uint8 [M, C, H, W]``; also return the kept entry indices.

    Unreadable images and (when ``size`` is None) images whose size differs from the first one are
    reported to ``bad`` with their ``where``.
    """
    decoded: Any = _decode_in_threads([file for file, _ in entries], size, grayscale, crop)
    if len(entries) > PROGRESS_THRESHOLD:
        from rich.console import Console
        from rich.progress import track

        decoded = track(decoded, total=len(entries), description=f"reading {len(entries)} images",
                        console=Console(stderr=True), transient=True)
    stack: np.ndarray | None = None
    first_file: Path | None = None
    kept: list[int] = []
    for index, ((file, where), array) in enumerate(zip(entries, decoded, strict=True)):
        if isinstance(array, Exception):
            reason = str(array).splitlines()[0] if str(array) else type(array).__name__
            bad.report(where, f"image {file} cannot be read ({reason})")
            continue
        if stack is None:
            # Filled row by row: one array for all images instead of a list of small ones.
            stack = np.empty((len(entries), *array.shape), dtype=np.uint8)
            first_file = file
        elif array.shape != stack.shape[1:]:
            bad.report(where, f"image {file} is {array.shape[2]}x{array.shape[1]} but {first_file} is "
                              f"{stack.shape[3]}x{stack.shape[2]}; pass a size to resize all images")
            continue
        stack[len(kept)] = array
        kept.append(index)
    if stack is None:
        return torch.zeros(0, 1 if grayscale else 3, size or 0, size or 0, dtype=torch.uint8), kept
    return torch.from_numpy(stack[: len(kept)]), kept


def resize_batch(images: torch.Tensor, size: int | None) -> torch.Tensor:
    """Resize ``uint8 [N, C, H, W]`` square images to ``[N, C, size, size]`` (bilinear, anti-aliased)."""
    if size is None or images.shape[-2:] == (size, size):
        return images
    resized = torch.nn.functional.interpolate(images.float(), size=(size, size), mode="bilinear",
                                              align_corners=False, antialias=True)
    return resized.round().clamp(0, 255).to(torch.uint8)


def find_unlabeled_images(folders: set[Path], labeled: set[Path]) -> list[Path]:
    """Image files directly inside ``folders`` that are not in ``labeled`` (sorted)."""
    unlabeled = []
    for folder in sorted(folders):
        if folder.is_dir():
            unlabeled += [f for f in folder.iterdir()
                          if f.suffix.lower() in IMAGE_EXTENSIONS and not f.name.startswith(".")
                          and f not in labeled and f.is_file()]
    return sorted(unlabeled)


def finish_labels(dataset: LabeledDataset, reasons: Mapping[str, str],
                  kinds: Mapping[str, str] | str | None = None, given: Sequence[str] = ()) -> LabeledDataset:
    """Apply a ``kinds`` override (``{"label": "continuous"}``, see :meth:`LabeledDataset.with_kinds`), then log
    one line per attribute with its kind and ``reasons[name]`` (attributes in ``given`` were set by the user)."""
    kinds = parse_kinds(kinds, dataset.schema.names)
    dataset = dataset.with_kinds(kinds)
    for line in kind_lines(dataset.schema, reasons, given=[*given, *kinds]):
        logger.info(line)
    return dataset


def check_positive(name: str, value: Any, unit: str = "pixels") -> None:
    """ConfigError unless ``value`` is None or a positive int (options such as size, crop, limit)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ConfigError(f"{name} must be a positive number of {unit}, got {value!r}")


# -- the dispatcher --------------------------------------------------------------------------------------
def detect_layout(path: Path, labels: str | None = None) -> str:
    """Which reader fits ``path``: ``"celeba"``, ``"idx"`` or ``"image-folder"``; DataError if none does."""
    from condgen.data.celeba import is_celeba_folder
    from condgen.data.idx import is_idx_folder

    if path.is_file() and path.suffix.lower() == ".csv":
        return "image-folder"
    if labels is not None and (path / labels).is_file():  # naming a label file says which layout is meant
        return "image-folder"
    if path.is_dir():
        if is_celeba_folder(path):
            return "celeba"
        if is_idx_folder(path):
            return "idx"
        if (path / (labels or "attributes.csv")).is_file():
            return "image-folder"
    raise DataError(
        f"{path}: not a data layout condgen can read; looked for a CelebA folder (img_align_celeba/ + "
        "list_attr_celeba.txt), MNIST-style IDX files (train-images-idx3-ubyte[.gz] + "
        "train-labels-idx1-ubyte[.gz]), or an image folder with attributes.csv (first column the image "
        "file, other columns attributes; another file name via labels=...)"
    )


def load_path(path: Path, size: int | None = None, skip_bad: bool = False, **options) -> LabeledDataset:
    """Load a user's data set from ``path``, detecting its layout.

    Args:
        path: a CelebA folder, a folder of IDX files, an image folder with ``attributes.csv``, or the
            attribute CSV itself (image names are then relative to the CSV's folder).
        size: image side; images are centre-cropped to a square and resized. ``None`` keeps the
            stored size (all images must then share one).
        skip_bad: skip rows with bad input and warn once with their count, instead of failing on the
            first one with a :class:`DataError` naming the file and line.
        **options: ``format`` (force ``"celeba"``, ``"idx"`` or ``"image-folder"``) and the options of
            the chosen reader: :func:`condgen.data.image_folder.load_image_folder`,
            :func:`condgen.data.celeba.load_celeba`, :func:`condgen.data.idx.load_idx`.

    Returns:
        a LabeledDataset of ``uint8 [N, C, S, S]`` images whose ``spec`` rebuilds it.
    """
    path = Path(path)
    check_positive("size", size)
    layout = options.pop("format", None) or detect_layout(path, options.get("labels"))
    if layout == "celeba":
        from condgen.data.celeba import load_celeba as reader
    elif layout == "idx":
        from condgen.data.idx import load_idx as reader
    elif layout == "image-folder":
        from condgen.data.image_folder import load_image_folder as reader
    else:
        raise ConfigError(f"format must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    return reader(path, size=size, skip_bad=skip_bad, **options)


def reject_unknown_options(options: dict, reader: str, valid: Sequence[str]) -> None:
    """ConfigError naming the unknown ``options`` of ``reader`` (with a close valid name) and the valid ones."""
    if options:
        unknown = sorted(options)
        raise ConfigError(f"unknown option(s) {', '.join(unknown)} for {reader}{did_you_mean(unknown[0], valid)} "
                          f"(valid options: {', '.join(valid)}; on the command line --data-option KEY=VALUE)")


# -- scikit-learn's digits ------------------------------------------------------------------------------
#: The class attribute of every class-labelled set (IDX files, digits) is ``label``; digits called it ``digit``
#: before, and artifacts that ask for ``digit`` still find it.
CLASS_ATTRIBUTE = "label"


def load_sklearn_digits(size: int | None = None, kinds: Mapping[str, str] | str | None = None,
                        **options) -> LabeledDataset:
    """scikit-learn's bundled 8x8 handwritten digits (1,797 images, no download).

    Returns a LabeledDataset with images ``uint8 [1797, 1, S, S]`` (grey levels 0…16 scaled to
    0…255; ``S`` = ``size``, default 8, resized bilinearly) and one categorical attribute ``label``
    with categories ``"0"`` … ``"9"`` (``kinds={"label": "continuous"}`` makes it the number 0…9).
    """
    from sklearn.datasets import load_digits

    reject_unknown_options(options, "digits", ["size", "kinds"])
    check_positive("size", size)
    bunch = load_digits()
    images = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)[:, None]
    data = resize_batch(torch.from_numpy(images), size)
    attributes = torch.from_numpy(bunch.target.astype(np.float32))[:, None]
    schema = AttributeSchema((Attribute(CLASS_ATTRIBUTE, "categorical", tuple(str(d) for d in range(10)),
                                        description="the handwritten digit"),), former_names={"digit": CLASS_ATTRIBUTE})
    dataset = LabeledDataset(data, attributes, schema.with_statistics(attributes),
                             {"name": "digits", "size": size, "modality": "images"})
    return finish_labels(dataset, {CLASS_ATTRIBUTE: "the digit drawn"}, kinds)
