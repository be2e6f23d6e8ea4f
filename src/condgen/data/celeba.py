"""CelebA in its published layout (or Kaggle's CSV copy of it).

Layout::

    celeba/
      img_align_celeba/000001.jpg …        (Kaggle: img_align_celeba/img_align_celeba/…)
      list_attr_celeba.txt                 (Kaggle: list_attr_celeba.csv with a header row)
      list_eval_partition.txt              optional; needed for split="train" | "valid" | "test"

``list_attr_celeba.txt``::

    202599                                 line 1: the number of images
    5_o_Clock_Shadow Arched_Eyebrows …     line 2: the 40 attribute names
    000001.jpg -1  1  1 -1 …               then one row per image

Labels are ``1`` (has it) and ``-1`` (has not, stored as 0). A ``0`` means *missing* (partial labels:
a label file where only some attributes were annotated per image) and is stored as NaN.
``list_eval_partition.txt`` rows are ``000001.jpg 0`` with 0 = train, 1 = valid, 2 = test.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Mapping
from pathlib import Path

from condgen.data.dataset import LabeledDataset
from condgen.data.image_folder import LabelRow, assemble_dataset
from condgen.data.readers import BadRows, check_positive, finish_labels, reject_unknown_options
from condgen.data.schema import Attribute, AttributeSchema
from condgen.errors import ConfigError, DataError

ATTRIBUTE_FILES = ("list_attr_celeba.txt", "list_attr_celeba.csv")
PARTITION_FILES = ("list_eval_partition.txt", "list_eval_partition.csv")
SPLITS = {"train": "0", "valid": "1", "test": "2", "all": None}
LABEL_VALUES = {"1": 1.0, "-1": 0.0, "0": math.nan}  # 0 = not annotated (partial labels)


def is_celeba_folder(path: Path) -> bool:
    """Whether ``path`` holds ``img_align_celeba/`` and a CelebA attribute file."""
    return (path / "img_align_celeba").is_dir() and any((path / f).is_file() for f in ATTRIBUTE_FILES)


def _first_existing(root: Path, names: tuple[str, ...]) -> Path | None:
    return next((root / n for n in names if (root / n).is_file()), None)


def _read_lines(file: Path) -> list[str]:
    try:
        return file.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{file}: cannot be read as text ({error})") from None


def read_attribute_file(file: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Attribute names and ``(line, tokens)`` of every image row (tokens: file name, then K labels)."""
    if file.suffix == ".csv":
        with open(file, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            rows = [(reader.line_num, [t.strip() for t in r]) for r in reader if any(map(str.strip, r))]
        if len(header) < 2:
            raise DataError(f"{file}:1: expected a header row image_id,<attribute names>")
        return [h.strip() for h in header[1:]], rows
    lines = _read_lines(file)
    if len(lines) < 2:
        raise DataError(f"{file}: expected the number of images on line 1 and the attribute names on line 2")
    try:
        count = int(lines[0].split()[0])
    except (ValueError, IndexError):
        raise DataError(f"{file}:1: expected the number of images, got {lines[0][:40]!r}") from None
    names = lines[1].split()
    if not names:
        raise DataError(f"{file}:2: expected the attribute names separated by spaces")
    rows = [(number, line.split()) for number, line in enumerate(lines[2:], start=3) if line.strip()]
    if count != len(rows):
        raise DataError(f"{file}:1: says {count} images but the file lists {len(rows)}; correct line 1")
    return names, rows


def read_partition_file(file: Path, bad: BadRows) -> dict[str, str]:
    """``{image file name: "0" | "1" | "2"}`` from ``list_eval_partition.txt`` (or its CSV copy)."""
    if file.suffix == ".csv":
        with open(file, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            next(reader, None)  # the header row image_id,partition
            rows = [(reader.line_num, [t.strip() for t in r]) for r in reader if any(map(str.strip, r))]
    else:
        rows = [(n, line.split()) for n, line in enumerate(_read_lines(file), start=1) if line.strip()]
    partition = {}
    for line, tokens in rows:
        if len(tokens) != 2 or tokens[1] not in ("0", "1", "2"):
            bad.report(f"{file}:{line}", "expected '<image file> <0|1|2>' (0 train, 1 valid, 2 test)")
        else:
            partition[tokens[0]] = tokens[1]
    return partition


def load_celeba(
    path: Path,
    size: int | None = None,
    skip_bad: bool = False,
    split: str = "all",
    crop: int | None = None,
    grayscale: bool = False,
    limit: int | None = None,
    kinds: Mapping[str, str] | str | None = None,
    **unknown,
) -> LabeledDataset:
    """Load a CelebA folder (layout and label conventions in the module docstring).

    Args:
        path: the folder holding ``img_align_celeba/`` and ``list_attr_celeba.txt``.
        size: centre-crop to a square and resize to ``size × size`` (64 is usual); ``None`` keeps
            the stored 178x218.
        skip_bad: skip bad rows and unlabeled images with one warning, instead of a DataError.
        split: ``"train"``, ``"valid"``, ``"test"`` (needs ``list_eval_partition.txt``) or ``"all"``.
        crop: cut the centre ``crop × crop`` square first (e.g. 148 keeps the face, drops background).
        grayscale: 1-channel images instead of RGB.
        limit: use only the first ``limit`` usable rows.
        kinds: per-attribute kind override (:meth:`LabeledDataset.with_kinds`), e.g. ``{"Smiling": "categorical"}``.

    Returns:
        LabeledDataset with ``uint8 [N, C, S, S]`` images and 40 binary attributes (NaN = missing).
    """
    reject_unknown_options(unknown, "a CelebA folder", ["split", "crop", "grayscale", "limit", "kinds"])
    path = Path(path)
    for name, value in (("size", size), ("crop", crop)):
        check_positive(name, value)
    check_positive("limit", limit, "rows")
    if split not in SPLITS:
        raise ConfigError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    attribute_file = _first_existing(path, ATTRIBUTE_FILES)
    if attribute_file is None or not (path / "img_align_celeba").is_dir():
        raise DataError(f"{path}: not a CelebA folder; expected img_align_celeba/ and list_attr_celeba.txt")
    nested = path / "img_align_celeba" / "img_align_celeba"  # how the Kaggle copy unpacks
    image_dir = nested if nested.is_dir() else path / "img_align_celeba"
    names, table = read_attribute_file(attribute_file)
    bad = BadRows(skip_bad)
    if SPLITS[split] is not None:
        partition_file = _first_existing(path, PARTITION_FILES)
        if partition_file is None:
            raise DataError(f"{path}: split={split!r} needs list_eval_partition.txt, which is missing; "
                            "add it or use split='all'")
        partition = read_partition_file(partition_file, bad)
        table_in_split, unassigned = [], 0  # unassigned rows count among the rows looked at
        for line, tokens in table:
            if tokens[0] not in partition:
                bad.report(f"{attribute_file}:{line}", f"image {tokens[0]!r} is not in {partition_file.name}")
                unassigned += 1
            elif partition[tokens[0]] == SPLITS[split]:
                table_in_split.append((line, tokens))
    else:
        table_in_split, unassigned = table, 0
    rows = []
    for line, tokens in table_in_split:
        where = f"{attribute_file}:{line}"
        if len(tokens) != len(names) + 1:
            bad.report(where, f"has {len(tokens)} fields; expected the file name and {len(names)} labels")
            continue
        unknown_value = next((t for t in tokens[1:] if t not in LABEL_VALUES), None)
        if unknown_value is not None:
            name = names[tokens[1:].index(unknown_value)]
            bad.report(where, f"label {unknown_value!r} for {name!r} is not 1, -1 or 0 (missing)")
            continue
        rows.append(LabelRow(where, image_dir / tokens[0], [LABEL_VALUES[t] for t in tokens[1:]]))
    schema = AttributeSchema(tuple(Attribute(name, "binary") for name in names))
    spec = {"name": path.name, "path": str(path.resolve()), "size": size, "format": "celeba", "split": split,
            "modality": "images"}
    extras = {"crop": crop, "grayscale": grayscale or None, "limit": limit, "skip_bad": skip_bad or None}
    spec.update({k: v for k, v in extras.items() if v is not None})
    named = {Path(os.path.normpath(image_dir / tokens[0])) for _, tokens in table}
    dataset = assemble_dataset(rows, schema, attribute_file, bad, len(table_in_split) + unassigned, spec,
                               named, {image_dir}, size=size, grayscale=grayscale, crop=crop, limit=limit)
    return finish_labels(dataset, dict.fromkeys(names, f"CelebA labels 1/-1 of {attribute_file.name}"), kinds)
