"""An image folder labelled by a CSV file: ``attributes.csv`` with one row per image.

Layout::

    my_faces/
      attributes.csv      file,smiling,age,hair
      img/001.png         img/001.png,1,31.5,brown
      img/002.png         img/002.png,0,,black

The first column is the image file name relative to the folder; every other column is an attribute.
Each column's kind is inferred from its values (override with ``kinds={"age": "continuous"}``, on the
command line ``--kind age=continuous``), and a log line per column says which and why:

* only 0/1, or only -1/1, or only yes/no/true/false → ``binary`` (-1 and no/false → 0),
* whole numbers with at most :data:`MAX_INTEGER_CLASSES` distinct values → ``categorical`` (a class
  column such as 0…9; a 0/1 column with a stray 2 lands here too, with a warning naming the line),
* numbers otherwise → ``continuous``,
* mostly non-numbers → ``categorical`` (categories sorted).

An empty cell, ``NaN``, ``NA`` or ``N/A`` is a missing value. In a numeric column a few non-numbers are
taken as typos: each is a bad row. Line numbers in messages count the header as line 1.
"""

from __future__ import annotations

import csv
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from condgen.data.dataset import LabeledDataset
from condgen.data.kinds import parse_kinds
from condgen.data.readers import (
    BadRows,
    SkippedRowsWarning,
    check_positive,
    find_unlabeled_images,
    finish_labels,
    read_images,
    reject_unknown_options,
)
from condgen.data.schema import Attribute, AttributeSchema
from condgen.errors import DataError

DEFAULT_LABELS = "attributes.csv"
MISSING_TOKENS = frozenset({"", "nan", "na", "n/a"})
BINARY_WORDS = {"yes": 1.0, "true": 1.0, "no": 0.0, "false": 0.0}
BINARY_NUMBERS = (frozenset({0.0, 1.0}), frozenset({-1.0, 1.0}))
#: A column of whole numbers with at most this many distinct values holds classes, not a measurement.
MAX_INTEGER_CLASSES = 20
#: A 0/1 (or -1/1) column with at most this share of other values looks binary with typos: a warning says so.
STRAY_SHARE = 0.05


class StrayValueWarning(UserWarning):
    """A column that looks binary holds a few other values, so it is not taken as binary."""


@dataclass
class LabelRow:
    """One label-file row: where it is (``"file:line"``), the image it names, its values ``[K]``."""

    where: str
    file: Path
    values: list[float]


def load_image_folder(
    path: Path,
    size: int | None = None,
    skip_bad: bool = False,
    labels: str = DEFAULT_LABELS,
    kinds: Mapping[str, str] | str | None = None,
    grayscale: bool = False,
    crop: int | None = None,
    limit: int | None = None,
    **unknown,
) -> LabeledDataset:
    """Load an image folder with an attribute CSV (see the module docstring for the format).

    Args:
        path: the folder, or the CSV file itself (image names are then relative to its folder).
        size: centre-crop each image to a square and resize it to ``size × size``; ``None`` keeps the
            stored size, and all images must then share one.
        skip_bad: skip bad rows and unlabeled images with one warning, instead of a DataError.
        labels: the CSV's file name inside the folder (or an absolute path).
        kinds: per-column kind override, ``{"age": "continuous"}`` or ``"age=continuous,hair=categorical"``.
        grayscale: load 1-channel images; otherwise every image is converted to RGB.
        crop: cut the centre ``crop × crop`` square out of each image before resizing.
        limit: use only the first ``limit`` usable rows (quick experiments on large folders).

    Returns:
        LabeledDataset with ``data`` ``uint8 [N, C, S, S]`` and attributes ``[N, K]`` (NaN = missing).
    """
    reject_unknown_options(unknown, "an image folder",
                           ["labels", "kinds", "grayscale", "crop", "limit"])
    path = Path(path)
    for name, value in (("size", size), ("crop", crop)):
        check_positive(name, value)
    check_positive("limit", limit, "rows")
    root, csv_path = (path.parent, path) if path.is_file() else (path, path / labels)
    if not csv_path.is_file():
        raise DataError(f"{csv_path}: attribute file not found; put one row per image in it "
                        "(first column the image file, other columns attributes) or name it with labels=...")
    header, table = read_csv_rows(csv_path)
    names = header[1:]
    kinds = parse_kinds(kinds, names)
    bad = BadRows(skip_bad)
    well_formed = well_formed_rows(csv_path, len(header), table, bad)
    columns = [[cells[1 + k] for _, cells in well_formed] for k in range(len(names))]
    schema, plus_minus, reasons = infer_schema(csv_path, names, columns, kinds, [where for where, _ in well_formed])
    rows = []
    for where, cells in well_formed:
        values = parse_row(schema, cells[1:], where, bad, plus_minus)
        if values is not None:
            rows.append(LabelRow(where, Path(os.path.normpath(root / cells[0])), values))
    named = {Path(os.path.normpath(root / cells[0])) for _, cells in table if cells and cells[0]}
    spec = {"name": root.name, "path": str(path.resolve()), "size": size, "format": "image-folder",
            "modality": "images"}
    if labels != DEFAULT_LABELS and not path.is_file():
        spec["labels"] = labels
    extras = {"kinds": kinds or None, "grayscale": grayscale or None,
              "crop": crop, "limit": limit, "skip_bad": skip_bad or None}
    spec.update({k: v for k, v in extras.items() if v is not None})
    # Unlabeled images are looked for only in the folders the CSV uses, not in unrelated sub-folders.
    folders = {row.file.parent for row in rows}
    dataset = assemble_dataset(rows, schema, csv_path, bad, len(table), spec, named, folders,
                               size=size, grayscale=grayscale, crop=crop, limit=limit)
    return finish_labels(dataset, reasons, given=list(kinds))


def read_csv_rows(csv_path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header cells and ``(line, cells)`` of every non-blank data row, cells stripped."""
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = [c.strip() for c in next(reader, [])]
            table = [(reader.line_num, [c.strip() for c in cells])
                     for cells in reader if any(map(str.strip, cells))]  # blank lines are not rows
    except UnicodeDecodeError:
        raise DataError(f"{csv_path}: not UTF-8 text; save it as UTF-8 CSV") from None
    except csv.Error as error:
        raise DataError(f"{csv_path}: malformed CSV ({error})") from None
    if not header:
        raise DataError(f"{csv_path}: empty; the first line must be a header: file,attribute1,attribute2,...")
    if len(header) == 1 and any(sep in header[0] for sep in ";\t"):
        raise DataError(f"{csv_path}:1: the header is one column; separate columns with commas")
    for position, name in enumerate(header[1:], start=2):
        if not name:
            raise DataError(f"{csv_path}:1: column {position} of the header has no attribute name")
        if header.index(name) != position - 1:
            raise DataError(f"{csv_path}:1: attribute name {name!r} appears twice in the header")
    return header, table


def well_formed_rows(
    csv_path: Path, width: int, table: list[tuple[int, list[str]]], bad: BadRows
) -> list[tuple[str, list[str]]]:
    """``(where, cells)`` of the rows with ``width`` cells and a new, non-empty file name; others are bad."""
    well_formed: list[tuple[str, list[str]]] = []
    first_line_of: dict[str, int] = {}
    for line, cells in table:
        where = f"{csv_path}:{line}"
        if len(cells) != width:
            bad.report(where, f"has {len(cells)} columns but the header has {width}")
        elif not cells[0]:
            bad.report(where, "the image file name (first column) is empty")
        elif cells[0] in first_line_of:
            bad.report(where, f"image {cells[0]!r} is listed again (first on line {first_line_of[cells[0]]})")
        else:
            first_line_of[cells[0]] = line
            well_formed.append((where, cells))
    return well_formed


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _span(numbers: set[float]) -> str:
    low, high = min(numbers), max(numbers)
    return f"{low:g}–{high:g}" if len(numbers) > 2 else f"{low:g}/{high:g}"


def _infer_kind(present: Sequence[str]) -> tuple[str, str]:
    """The kind of a column's present cells and the reason, said in a few words."""
    numbers = [n for n in map(_number, present) if n is not None]
    distinct = set(numbers)
    words = [c.lower() for c in present if _number(c) is None]
    binary_numbers = any(distinct <= allowed for allowed in BINARY_NUMBERS)
    if binary_numbers and all(w in BINARY_WORDS for w in words):
        shown = ([_span(distinct)] if distinct else []) + (["yes/no"] if words else [])
        return "binary", f"inferred from values {' and '.join(shown)}"
    if 2 * len(numbers) <= len(present):
        return "categorical", "inferred from text values"
    # mostly numbers: the few words are typos (bad rows)
    if binary_numbers:
        return "binary", f"inferred from values {_span(distinct)}"
    if all(n.is_integer() for n in distinct) and len(distinct) <= MAX_INTEGER_CLASSES:
        return "categorical", f"inferred from whole numbers {_span(distinct)}, {len(distinct)} distinct"
    return "continuous", f"inferred from numbers, {len(distinct)} distinct"


def _warn_if_stray(name: str, cells: Sequence[str], wheres: Sequence[str], kind: str) -> None:
    """Warn when a column is 0/1 (or -1/1) but for a few values, which keep it from being binary."""
    numbers = [_number(c) for c in cells]
    present = [n for n in numbers if n is not None]
    for allowed in BINARY_NUMBERS:
        stray = [i for i, n in enumerate(numbers) if n is not None and n not in allowed]
        if stray and len(stray) <= max(1.0, STRAY_SHARE * len(present)) and len(set(present) & allowed) == 2:
            first = stray[0]
            warnings.warn(f"{wheres[first]}: column {name!r} holds only {'/'.join(f'{v:g}' for v in sorted(allowed))} "
                          f"but for {len(stray)} value(s) such as {numbers[first]:g}, so it is {kind}, not binary; "
                          f"fix the data, or use --kind {name}=binary (rows with other values are then bad rows)",
                          StrayValueWarning, stacklevel=3)
            return


def infer_schema(
    csv_path: Path, names: Sequence[str], columns: Sequence[Sequence[str]], kinds: Mapping[str, str],
    wheres: Sequence[str] | None = None,
) -> tuple[AttributeSchema, set[str], dict[str, str]]:
    """The schema of CSV columns (cells as text), each kind from ``kinds`` or inferred from its values.

    Also returns the names of the binary columns written as -1/1 (where a 0 is an error, not a label) and,
    for every inferred column, the reason for its kind (``"inferred from values 0/1"``). ``wheres`` (the
    ``file:line`` of each row) lets a warning about a stray value in a binary-looking column name its line.
    """
    attributes, plus_minus, reasons = [], set(), {}
    for name, cells in zip(names, columns, strict=True):
        present = [c for c in cells if c.lower() not in MISSING_TOKENS]
        if name not in kinds and not present:
            raise DataError(f"{csv_path}: column {name!r} has no values, so its kind is unknown; "
                            f"give it with --kind {name}=binary (kinds={{{name!r}: 'binary'}} in Python)")
        if name in kinds:
            kind = kinds[name]
        else:
            kind, reasons[name] = _infer_kind(present)
            if kind != "binary":
                _warn_if_stray(name, cells, wheres or [str(csv_path)] * len(cells), kind)
        categories: tuple[str, ...] = ()
        if kind == "categorical":
            distinct = set(present)
            numeric = all(_number(c) is not None for c in distinct)
            categories = tuple(sorted(distinct, key=(lambda c: float(c)) if numeric else None))
            if len(categories) < 2:
                raise DataError(f"{csv_path}: categorical column {name!r} has {len(categories)} distinct "
                                "value(s); a categorical attribute needs at least two")
        if kind == "binary" and -1.0 in map(_number, present):
            plus_minus.add(name)
        attributes.append(Attribute(name, kind, categories))
    return AttributeSchema(tuple(attributes)), plus_minus, reasons


def parse_cell(attribute: Attribute, text: str, plus_minus: bool = False) -> float:
    """One CSV cell → the stored value (NaN if missing); ValueError with the reason if it is invalid.

    ``plus_minus``: the binary column is written as -1/1, so -1 → 0 and a 0 is an error.
    """
    if text.lower() in MISSING_TOKENS:
        return math.nan
    if attribute.kind == "categorical":
        return float(attribute.categories.index(text))
    if attribute.kind == "binary" and text.lower() in BINARY_WORDS:
        return BINARY_WORDS[text.lower()]
    value = _number(text)
    if value is None:
        raise ValueError(f"{text!r} is not a number")
    if attribute.kind == "continuous":
        if not math.isfinite(value):
            raise ValueError(f"{text!r} is not a finite number")
        return value
    if plus_minus and value == 0:
        raise ValueError("0 in a column of -1/1 labels; leave the cell empty for a missing label")
    if value not in ((-1.0, 1.0) if plus_minus else (0.0, 1.0)):
        raise ValueError(f"{text!r} is not {'-1 or 1' if plus_minus else '0 or 1'}")
    return max(value, 0.0)


def parse_row(
    schema: AttributeSchema, cells: Sequence[str], where: str, bad: BadRows, plus_minus: set[str]
) -> list[float] | None:
    """A row's attribute cells → values ``[K]``; a bad cell is reported and the row dropped (None)."""
    values = []
    for attribute, text in zip(schema, cells, strict=True):
        try:
            values.append(parse_cell(attribute, text, attribute.name in plus_minus))
        except ValueError as error:
            bad.report(where, f"column {attribute.name!r} ({attribute.kind}): {error}")
            return None
    return values


def check_unlabeled(folders: set[Path], named: set[Path], labels_file: Path, skip_bad: bool) -> None:
    """Images in ``folders`` that the label file does not name: an error, or one warning with skip_bad."""
    unlabeled = find_unlabeled_images(folders, named)
    if not unlabeled:
        return
    message = f"{len(unlabeled)} image file(s) have no row in {labels_file} (first: {unlabeled[0]})"
    if not skip_bad:
        raise DataError(f"{message}; add rows for them, or load with skip_bad=True to ignore them")
    warnings.warn(f"ignored {message}", SkippedRowsWarning, stacklevel=2)


def assemble_dataset(
    rows: list[LabelRow],
    schema: AttributeSchema,
    labels_file: Path,
    bad: BadRows,
    total: int,
    spec: dict,
    named: set[Path],
    folders: set[Path],
    size: int | None,
    grayscale: bool = False,
    crop: int | None = None,
    limit: int | None = None,
) -> LabeledDataset:
    """Check the images exist and are all labelled, read them, build the LabeledDataset (shared with CelebA).

    ``named``: every image the label file names (bad rows included); image files in ``folders`` that are
    not among them are unlabeled: an error, or one warning with ``skip_bad``.
    """
    present = []
    for row in rows:
        if row.file.is_file():
            present.append(row)
        else:
            bad.report(row.where, f"names image {row.file}, which does not exist")
    check_unlabeled(folders, named, labels_file, bad.skip_bad)
    present = present[:limit] if limit else present
    images, kept = read_images([(row.file, row.where) for row in present], size, bad, grayscale, crop)
    bad.finish(total)
    if not kept:
        raise DataError(f"{labels_file}: no usable rows with images ({total} rows in the file)")
    values = [present[i].values for i in kept]
    attributes = torch.tensor(values, dtype=torch.float32).reshape(len(kept), len(schema))
    return LabeledDataset(images, attributes, schema.with_statistics(attributes), spec)
