"""MNIST-style IDX files (MNIST, Fashion-MNIST, KMNIST …), plain or gzipped.

A folder holding ``train-images-idx3-ubyte`` + ``train-labels-idx1-ubyte`` (and, for
``split="test"``, ``t10k-images-idx3-ubyte`` + ``t10k-labels-idx1-ubyte``), each optionally ``.gz``;
the ``train-images.idx3-ubyte`` spelling is found too.

IDX format: a big-endian header — two zero bytes, a type byte (0x08 = unsigned byte), the number of
dimensions — then one big-endian uint32 per dimension, then the values. Image files are
``0x00000803`` (``[N, H, W]``), label files ``0x00000801`` (``[N]``).
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from condgen.data.dataset import LabeledDataset
from condgen.data.readers import CLASS_ATTRIBUTE, check_positive, finish_labels, reject_unknown_options, resize_batch
from condgen.data.schema import Attribute, AttributeSchema
from condgen.errors import ConfigError, DataError

SPLIT_PREFIXES = {"train": "train", "test": "t10k"}
IMAGES_MAGIC, LABELS_MAGIC = 0x00000803, 0x00000801
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def idx_file_names(split: str, kind: str) -> list[str]:
    """Accepted names of the ``kind`` ("images" or "labels") file of ``split``, most usual first."""
    prefix, rank = SPLIT_PREFIXES[split], 3 if kind == "images" else 1
    names = [f"{prefix}-{kind}-idx{rank}-ubyte", f"{prefix}-{kind}.idx{rank}-ubyte"]
    return names + [name + ".gz" for name in names]


def find_idx_file(folder: Path, split: str, kind: str) -> Path | None:
    return next((folder / n for n in idx_file_names(split, kind) if (folder / n).is_file()), None)


def is_idx_folder(path: Path) -> bool:
    """Whether ``path`` holds a training (or test) IDX image file."""
    return any(find_idx_file(path, split, "images") is not None for split in SPLIT_PREFIXES)


def read_idx(file: Path, magic: int) -> np.ndarray:
    """The array stored in an unsigned-byte IDX file, checking its magic number and length."""
    try:
        opener = gzip.open if file.suffix == ".gz" else open
        with opener(file, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"{file}: cannot be read ({error}); download it again") from None
    if len(raw) < 4 or int.from_bytes(raw[:4], "big") != magic:
        found = f"0x{int.from_bytes(raw[:4], 'big'):08X}" if len(raw) >= 4 else "nothing"
        what = "images" if magic == IMAGES_MAGIC else "labels"
        raise DataError(f"{file}: magic number is {found}, expected 0x{magic:08X} "
                        f"(IDX unsigned-byte {what}); is this the right file?")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{file}: truncated header; download it again")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    if len(raw) - header != math.prod(shape):
        raise DataError(f"{file}: header says {'x'.join(map(str, shape))} values but the file holds "
                        f"{len(raw) - header}; it is truncated or corrupt, download it again")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def load_idx(
    path: Path,
    size: int | None = None,
    skip_bad: bool = False,
    split: str = "train",
    class_names: Sequence[str] | str | None = None,
    kinds: Mapping[str, str] | str | None = None,
    **unknown,
) -> LabeledDataset:
    """Load the ``split`` images and labels of an IDX folder.

    Args:
        path: the folder holding the IDX files.
        size: resize the (square) images to ``size × size`` (bilinear); ``None`` keeps 28x28.
        skip_bad: accepted for a uniform interface; IDX files have no rows to skip — a bad file is
            always an error.
        split: ``"train"`` (``train-*`` files) or ``"test"`` (``t10k-*`` files).
        class_names: names of the classes in label order, or ``"fashion-mnist"``; default ``"0"``,
            ``"1"``, … .
        kinds: ``{"label": "continuous"}`` makes the class the number it is (see
            :meth:`LabeledDataset.with_kinds`).

    Returns:
        LabeledDataset with ``uint8 [N, 1, S, S]`` images and one categorical attribute ``label``.
    """
    reject_unknown_options(unknown, "IDX files", ["split", "class_names", "kinds"])
    path = Path(path)
    check_positive("size", size)
    if split not in SPLIT_PREFIXES:
        raise ConfigError(f"split must be one of {', '.join(SPLIT_PREFIXES)} for IDX files, got {split!r}")
    files = {kind: find_idx_file(path, split, kind) for kind in ("images", "labels")}
    for kind, file in files.items():
        if file is None:
            raise DataError(f"{path}: split={split!r} needs {idx_file_names(split, kind)[0]}[.gz], which is "
                            "missing")
    images = read_idx(files["images"], IMAGES_MAGIC)
    labels = read_idx(files["labels"], LABELS_MAGIC)
    if images.ndim != 3 or labels.ndim != 1:
        raise DataError(f"{files['images']}: expected images [N, H, W] and labels [N], "
                        f"got {list(images.shape)} and {list(labels.shape)}")
    if len(images) != len(labels):
        raise DataError(f"{files['images']} holds {len(images)} images but {files['labels']} holds "
                        f"{len(labels)} labels; the files must come from the same download")
    if len(labels) == 0:
        raise DataError(f"{files['images']}: holds no images")
    if isinstance(class_names, str):  # "fashion-mnist", or "a,b,c" from a command line
        class_names = FASHION_MNIST_CLASSES if class_names == "fashion-mnist" else class_names.split(",")
    largest = int(labels.max())
    categories = tuple(class_names) if class_names else tuple(str(c) for c in range(max(10, largest + 1)))
    if largest >= len(categories):
        raise DataError(f"{files['labels']}: holds label {largest} but only {len(categories)} class names "
                        "were given")
    data = resize_batch(torch.from_numpy(images.copy())[:, None], size)
    attributes = torch.from_numpy(labels.astype(np.float32))[:, None]
    schema = AttributeSchema((Attribute(CLASS_ATTRIBUTE, "categorical", categories),))
    spec = {"name": path.name, "path": str(path.resolve()), "size": size, "format": "idx", "split": split,
            "modality": "images"}
    if class_names:
        spec["class_names"] = list(class_names)
    dataset = LabeledDataset(data, attributes, schema.with_statistics(attributes), spec)
    return finish_labels(dataset, {CLASS_ATTRIBUTE: f"the class labels of {files['labels'].name}"}, kinds)
