"""The columns of a table (:mod:`condgen.data.tables`) and the conversions between stored rows and the table's own
values: category names, integers, numbers. Used by the ``tables`` modality to write and read rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from condgen.data.schema import Attribute
from condgen.errors import DataError, check_choice

COLUMN_KINDS = ("continuous", "integer", "categorical")


@dataclass(frozen=True)
class TableColumn:
    """One column: ``kind`` in :data:`COLUMN_KINDS`; ``categories`` (categorical) in index order, ``ordered``
    when that order means something (education levels), which lets a constraint say "only increase"."""

    name: str
    kind: str
    categories: tuple[str, ...] = ()
    ordered: bool = False

    def __post_init__(self):
        check_choice(self.kind, COLUMN_KINDS, "column kind", owner=self.name)
        object.__setattr__(self, "categories", tuple(str(c) for c in self.categories))
        if self.kind == "categorical" and len(self.categories) < 2:
            raise DataError(f"column {self.name!r}: a categorical column needs at least two categories, "
                            f"got {list(self.categories)}; drop a constant column first")

    def to_dict(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"name": self.name, "kind": self.kind}
        if self.kind == "categorical":
            entry["categories"] = list(self.categories)
            entry["ordered"] = self.ordered
        return entry

    @classmethod
    def from_dict(cls, entry: dict[str, Any]) -> TableColumn:
        return cls(entry["name"], entry["kind"], tuple(entry.get("categories", ())), bool(entry.get("ordered")))

    def attribute(self) -> Attribute:
        """The column as an attribute of the schema (integer columns are ``continuous``)."""
        if self.kind == "categorical":
            return Attribute(self.name, "categorical", self.categories)
        return Attribute(self.name, "continuous", description="integer" if self.kind == "integer" else "")

    def readable(self, value: float) -> str | int | float:
        """A stored value as the table writes it: a category name, an integer, or a float (6 significant digits)."""
        if np.isnan(value):
            return ""
        if self.kind == "categorical":
            return self.categories[int(np.clip(round(value), 0, len(self.categories) - 1))]
        if self.kind == "integer":
            return int(round(value))
        return float(f"{value:.6g}")


def columns_of(spec: dict[str, Any]) -> list[TableColumn]:
    """The columns recorded in a table's data spec."""
    if "columns" not in spec:
        raise DataError(f"{spec.get('name', 'this data set')}: not a table (its spec records no columns)")
    return [TableColumn.from_dict(entry) for entry in spec["columns"]]


def readable_rows(columns: Sequence[TableColumn], rows: torch.Tensor | np.ndarray) -> list[list[Any]]:
    """Stored rows ``[N, C]`` as lists of the table's own values (category names, integers, floats)."""
    array = torch.as_tensor(rows).detach().cpu().double().numpy()
    if array.ndim != 2 or array.shape[1] != len(columns):
        raise DataError(f"rows of this table have {len(columns)} columns, got {list(array.shape)}")
    return [[column.readable(value) for column, value in zip(columns, row, strict=True)] for row in array]


def write_table(columns: Sequence[TableColumn], rows: torch.Tensor | np.ndarray, path: str | Path,
                extra: dict[str, Sequence[Any]] | None = None) -> Path:
    """Write rows as a CSV in the table's own columns and values (atomically); ``extra`` columns come first."""
    from condgen.io import atomic_write_csv

    extra = extra or {}
    body = readable_rows(columns, rows)
    header = [*extra, *(column.name for column in columns)]
    lines = [[*(values[i] for values in extra.values()), *row] for i, row in enumerate(body)]
    return atomic_write_csv(Path(path), header, lines)


def parse_rows(columns: Sequence[TableColumn], path: str | Path) -> torch.Tensor:
    """A user's CSV of rows (a header naming the table's columns; extra columns, e.g. the target, ignored) as
    stored rows ``float [B, C]``; a missing column, an unknown category or a non-number names the cell. A
    missing target column is filled with NaN (it is what is being explained)."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: not found")
    try:
        frame = pd.read_csv(path, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: not a readable table ({str(error).strip().splitlines()[0]})") from None
    frame = frame.rename(columns=lambda c: str(c).strip())
    if len(frame) == 0:
        raise DataError(f"{path}: holds no rows")
    out = np.full((len(frame), len(columns)), np.nan)
    for j, column in enumerate(columns):
        if column.name not in frame.columns:
            if j == len(columns) - 1:
                continue  # the target (last) may be absent
            raise DataError(f"{path}: no column {column.name!r}; the table's columns are "
                            f"{', '.join(c.name for c in columns)}")
        cells = frame[column.name]
        for i, cell in enumerate(cells):
            out[i, j] = _parse_cell(column, cell, f"{path}: row {i + 1}, column {column.name!r}")
    return torch.from_numpy(out).float()


def _parse_cell(column: TableColumn, cell, where: str) -> float:
    text = str(cell).strip()
    if column.kind == "categorical":
        if text not in column.categories:
            raise DataError(f"{where}: {text!r} is not one of {', '.join(column.categories)}")
        return float(column.categories.index(text))
    try:
        value = float(text)
    except ValueError:
        raise DataError(f"{where}: {text!r} is not a number") from None
    if not np.isfinite(value):
        raise DataError(f"{where}: {text!r} is not a finite number")
    return value
