"""Tables: rows of mixed continuous, integer and categorical columns, read from a CSV or a built-in set.

A table is stored like every other data set (:class:`~condgen.data.LabeledDataset`): ``data`` holds one row per
example as ``float32 [N, C]`` — a number for a continuous or integer column, the category's index for a
categorical one — and every column is also an attribute (continuous and integer columns ``continuous``,
categorical ones ``categorical``; :mod:`condgen.data.schema`), so a plugin can control any of them by name
(``--attrs age,education``). The columns' kinds and categories travel in ``spec["columns"]``, which the
``tables`` modality (:class:`~condgen.data.modality.TableModality`) turns back into the table's own values when it
writes rows. The target column (``spec["target"]``, e.g. ``income``), if any, is the last one.

Held-out split: a built-in table with an official test part (Adult) keeps it; any other table holds out a
seeded fifth of its rows (:func:`split_rows`), the same for every run. ``split="train"`` / ``"test"`` /
``"all"`` selects the part a loader returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from condgen.data.dataset import LabeledDataset
from condgen.data.schema import AttributeSchema
from condgen.data.table_columns import TableColumn
from condgen.errors import ConfigError, DataError, check_choice

SPLITS = ("train", "test", "all")
#: Share of rows held out by :func:`split_rows` where a table has no official test part.
TEST_FRACTION = 0.2
#: A numeric-looking column whose cells fail to parse as numbers in at most this share is treated as numeric
#: with bad cells (an error naming the first), not as a categorical column.
NUMERIC_SHARE = 0.95


# -- frame → data set ----------------------------------------------------------------------------------
def table_from_frame(frame, *, name: str, target: str | None = None, spec: dict[str, Any] | None = None,
                     categories: dict[str, Sequence[str]] | None = None, ordered: Sequence[str] = (),
                     source: str = "table") -> LabeledDataset:
    """A :class:`LabeledDataset` of the pandas ``frame``'s rows.

    Column kinds are inferred: numbers → ``integer`` when every value is whole, else ``continuous``; anything
    else (strings, booleans) → ``categorical`` with its categories sorted, unless ``categories`` gives their
    order (``ordered`` names the columns whose order is meaningful). ``target`` moves to the last column.
    A missing cell or a stray non-number in a numeric column is a :class:`DataError` naming ``source``, the
    row and the column.
    """
    if len(frame) == 0:
        raise DataError(f"{source}: the table has no rows")
    if frame.shape[1] < 2:
        raise DataError(f"{source}: a table needs at least two columns, got {list(frame.columns)}")
    frame = frame.rename(columns=lambda c: str(c).strip())
    duplicated = frame.columns[frame.columns.duplicated()].tolist()
    if duplicated:
        raise DataError(f"{source}: duplicate column names {duplicated}")
    if target is not None:
        check_choice(target, list(frame.columns), "target column", owner=source)
        frame = frame[[c for c in frame.columns if c != target] + [target]]
    categories = categories or {}
    columns, values = [], []
    for column_name in frame.columns:
        column, encoded = _encode_column(frame[column_name], column_name, categories.get(column_name),
                                         column_name in ordered, source)
        columns.append(column)
        values.append(encoded)
    data = torch.from_numpy(np.stack(values, axis=1).astype(np.float32))
    schema = AttributeSchema(tuple(column.attribute() for column in columns))
    full_spec = {"name": name, **(spec or {}), "modality": "tables", "columns": [c.to_dict() for c in columns]}
    if target is not None:
        full_spec["target"] = target
    return LabeledDataset(data, data.clone(), schema.with_statistics(data), full_spec)


def _encode_column(series, name: str, categories: Sequence[str] | None, ordered: bool,
                   source: str) -> tuple[TableColumn, np.ndarray]:
    import pandas as pd

    missing = series.isna().to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise DataError(f"{source}: row {row + 1}, column {name!r} is empty; fill or drop such rows "
                        "(--skip-bad drops them)")
    if pd.api.types.is_bool_dtype(series.dtype):
        return _categorical(series, name, categories, ordered, source)
    numeric = pd.api.types.is_numeric_dtype(series.dtype)
    numbers = series if numeric else pd.to_numeric(series, errors="coerce")
    if categories is None:
        bad = numbers.isna().to_numpy()
        if bad.mean() > 1 - NUMERIC_SHARE:  # mostly text: a categorical column
            return _categorical(series, name, None, ordered, source)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(f"{source}: row {row + 1}, column {name!r}: {series.iloc[row]!r} is not a number "
                            "(the rest of the column is numeric)")
        array = numbers.to_numpy(dtype=np.float64)
        if not np.isfinite(array).all():
            row = int(np.flatnonzero(~np.isfinite(array))[0])
            raise DataError(f"{source}: row {row + 1}, column {name!r} is not finite ({array[row]})")
        kind = "integer" if np.all(array == np.round(array)) else "continuous"
        return TableColumn(name, kind), array
    return _categorical(series, name, categories, ordered, source)


def _categorical(series, name: str, categories: Sequence[str] | None, ordered: bool,
                 source: str) -> tuple[TableColumn, np.ndarray]:
    text = series.astype(str).str.strip()
    found = sorted(text.unique())
    categories = tuple(str(c) for c in categories) if categories is not None else tuple(found)
    unknown = sorted(set(found) - set(categories))
    if unknown:
        raise DataError(f"{source}: column {name!r} holds {unknown[0]!r}, not one of its categories "
                        f"{', '.join(categories)}")
    index = {category: i for i, category in enumerate(categories)}
    return TableColumn(name, "categorical", categories, ordered), text.map(index).to_numpy(dtype=np.float64)


# -- CSV ---------------------------------------------------------------------------------------------------
def is_table_csv(path: Path) -> bool:
    """True for a ``.csv`` / ``.tsv`` whose first column does not name image files (that would be an image
    folder's ``attributes.csv``)."""
    from condgen.data.readers import IMAGE_EXTENSIONS

    path = Path(path)
    if not path.is_file() or path.suffix.lower() not in (".csv", ".tsv"):
        return False
    with path.open(errors="replace") as handle:
        handle.readline()
        first = handle.readline().split("\t" if path.suffix.lower() == ".tsv" else ",")[0].strip().strip('"')
    return Path(first).suffix.lower() not in IMAGE_EXTENSIONS


def load_table_csv(path: str | Path, *, target: str | None = None, split: str = "all", skip_bad: bool = False,
                   n: int | None = None, seed: int = 0) -> LabeledDataset:
    """The rows of a user's CSV (or ``.tsv``) table: a header row, then one row per example.

    ``target``: the column a classifier predicts (moved last); ``split``: ``all`` rows (default), or the
    ``train`` / ``test`` part of :func:`split_rows`; ``skip_bad``: drop rows with empty cells or the wrong
    number of fields (and warn with their count) instead of failing on the first; ``n``: keep the first ``n``
    rows of the part.
    """
    import pandas as pd

    path = Path(path)
    check_choice(split, SPLITS, "split", owner=str(path))
    if not path.is_file():
        raise DataError(f"{path}: not found")
    try:
        frame = pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",", skipinitialspace=True,
                            on_bad_lines="skip" if skip_bad else "error", keep_default_na=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as error:
        raise DataError(f"{path}: not a readable table ({str(error).strip().splitlines()[0]})") from None
    if skip_bad:
        before = len(frame)
        frame = frame.dropna().reset_index(drop=True)
        if len(frame) < before:
            import warnings

            warnings.warn(f"{path}: skipped {before - len(frame)} rows with empty cells", stacklevel=2)
    spec = {"path": str(path), "split": split, "seed": seed}
    if n is not None:
        spec["n"] = n
    dataset = table_from_frame(frame, name=path.stem, target=target, spec=spec, source=str(path))
    return take(select_split(dataset, split, seed), n)


def held_out_rows(n_rows: int, test_rows: int | None = None) -> int:
    """How many of ``n_rows`` :func:`split_rows` holds out: ``test_rows`` (an official test part), else
    :data:`TEST_FRACTION` of them, at least one and leaving at least one."""
    if test_rows is not None:
        return test_rows
    return n_rows - min(max(int(round((1 - TEST_FRACTION) * n_rows)), 1), n_rows - 1)


def split_rows(n_rows: int, seed: int = 0, test_rows: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(train, test)`` row indices: the last ``test_rows`` rows when the table has an official test part,
    else the last :func:`held_out_rows` of a seeded permutation (each part sorted)."""
    cut = n_rows - held_out_rows(n_rows, test_rows)
    if test_rows is not None:
        return torch.arange(cut), torch.arange(cut, n_rows)
    order = torch.randperm(n_rows, generator=torch.Generator().manual_seed(seed))
    return order[:cut].sort().values, order[cut:].sort().values


def select_split(dataset: LabeledDataset, split: str, seed: int = 0, test_rows: int | None = None) -> LabeledDataset:
    """The ``split`` part (:data:`SPLITS`) of a whole table; the spec records which."""
    check_choice(split, SPLITS, "split", owner=dataset.name)
    if split == "all":
        return dataset
    if len(dataset) < 2:
        raise DataError(f"{dataset.name}: a table of {len(dataset)} row cannot be split; use split=all")
    train, test = split_rows(len(dataset), seed, test_rows)
    part = dataset.subset(train if split == "train" else test)
    part.spec["split"] = split
    return part


def take(dataset: LabeledDataset, n: int | None) -> LabeledDataset:
    """The first ``n`` rows (all when ``n`` is None or larger)."""
    if n is None or n >= len(dataset):
        return dataset
    if n < 1:
        raise ConfigError(f"the number of rows must be ≥ 1, got {n}")
    return dataset.subset(torch.arange(n))
