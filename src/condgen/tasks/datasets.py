"""``condgen datasets``: the built-in data sets, what they are and their attributes, listed without building any."""

from __future__ import annotations

from pathlib import Path

from condgen.data import describe_builtin
from condgen.errors import CondgenError, ConfigError


def describe_datasets() -> list[tuple[str, str, str, str, str, str]]:
    """``(name, modality, examples, attributes, description, source)`` of each built-in set, from the registry's static
    description (instant: nothing is generated or read); a set that cannot be loaded here (``moses`` without the
    molsets package) says why in place of its attributes."""
    rows = []
    for dataset in describe_builtin():
        attributes = dataset.attributes or "none by default"
        try:
            if dataset.check_available is not None:
                dataset.check_available()
        except CondgenError as error:
            attributes = f"unavailable: {error}"
        rows.append((dataset.name, dataset.modality, dataset.examples(), attributes, dataset.description,
                     dataset.source))
    return rows


def export_dataset(name: str, path: str | Path, *, split: str = "all", n: int | None = None, size: int | None = None,
                   seed: int = 0) -> tuple[Path, int]:
    """Write the built-in set ``name``: a table as one CSV (:func:`export_table`), an image set as an image folder
    (:func:`export_images`). Returns the path written and the number of examples."""
    from condgen.data.builtin_tables import BUILTIN_TABLES
    from condgen.data.registry import BUILTIN_DATASETS
    from condgen.errors import check_choice

    if name in BUILTIN_TABLES:
        if n is not None or size is not None:
            raise ConfigError(f"{name} is a table: it is exported whole (--split train|test|all); -n and --size "
                              "are for image sets")
        return export_table(name, path, split=split)
    check_choice(name, BUILTIN_DATASETS, "built-in data set")
    if split != "all":
        raise ConfigError(f"--split is for tables; {name} is exported as generated (-n, --size, --seed)")
    return export_images(name, path, n=n, size=size, seed=seed)


def export_images(name: str, folder: str | Path, *, n: int | None = None, size: int | None = None,
                  seed: int = 0) -> tuple[Path, int]:
    """Write the built-in image set ``name`` as the image folder condgen reads (``img/00000.png`` … and
    ``attributes.csv``: the file, then one column per attribute — 0/1, a number, or a category's name), so that a
    user can add a label column of their own (and train a classifier on it: ``condgen classifier train --data
    FOLDER --attrs LABEL``). The folder must not exist or be empty; it appears complete or not at all."""
    import shutil

    import numpy as np
    import torch

    from condgen.data import load_dataset
    from condgen.data.image_folder import DEFAULT_LABELS
    from condgen.errors import DataError
    from condgen.io import atomic_write_csv
    from condgen.viz import to_uint8_hwc

    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ConfigError(f"{folder}: exists and is not an empty folder; choose a new --out")
    dataset = load_dataset(name, n=n, size=size, seed=seed)
    if dataset.modality.name != "images":
        raise DataError(f"{name} holds {dataset.modality.name}, not images or a table: nothing to export as files")
    if n is not None and n < len(dataset):  # a fixed set (digits) is not generated to size
        dataset = dataset.subset(torch.arange(n))
    from PIL import Image

    staging = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "img").mkdir(parents=True)
    pixels = to_uint8_hwc(dataset.data)
    files = [f"img/{i:05d}.png" for i in range(len(dataset))]
    for file, image in zip(files, pixels, strict=True):
        Image.fromarray(image if dataset.data.shape[1] == 3 else image[:, :, 0]).save(staging / file)
    schema, values = dataset.schema, dataset.attributes.numpy()

    def cell(attribute, value):
        if np.isnan(value):
            return ""
        if attribute.kind == "categorical":
            return attribute.categories[int(value)]
        return str(int(value)) if attribute.kind == "binary" else f"{value:.6g}"

    rows = ([file, *(cell(a, v) for a, v in zip(schema, row, strict=True))] for file, row in zip(files, values,
                                                                                                 strict=True))
    atomic_write_csv(staging / DEFAULT_LABELS, ["file", *schema.names], rows)
    if folder.exists():
        folder.rmdir()
    staging.rename(folder)
    return folder, len(dataset)


def export_table(name: str, path: str | Path, split: str = "all") -> tuple[Path, int]:
    """Write the built-in table ``name``'s ``split`` rows to the CSV ``path`` as condgen reads it back (column names
    and values of the table, target last); returns the path and the number of rows."""
    from condgen.data.builtin_tables import BUILTIN_TABLES, load_builtin_table
    from condgen.errors import check_choice

    check_choice(name, BUILTIN_TABLES, "built-in table")
    path = Path(path)
    if path.suffix.lower() != ".csv":
        raise ConfigError(f"{path}: a table is exported as CSV; use --out NAME.csv")
    dataset = load_builtin_table(name, split=split)
    dataset.modality.write(dataset.data, path)
    return path, len(dataset)
