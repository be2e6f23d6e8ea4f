"""The one attribute schema shared by data loaders, the plugin, conditional baselines and evaluators.

Attribute values of a data set are stored as a float tensor ``[N, K]``:

* ``binary`` — 0.0 or 1.0,
* ``continuous`` — the raw value (the schema holds its mean and standard deviation),
* ``categorical`` — the category index 0 … C-1,

and ``NaN`` marks a missing value for every kind.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import torch

from condgen.errors import DataError, UnknownAttributeError

AttributeKind = Literal["binary", "continuous", "categorical"]
KINDS: tuple[str, ...] = ("binary", "continuous", "categorical")


@dataclass(frozen=True)
class Attribute:
    """One named attribute and the statistics needed to normalise it.

    ``positive_rate`` (binary) is the share of 1s among labelled examples; ``mean``/``std``
    (continuous) standardise values; ``categories`` names the classes of a categorical one.
    """

    name: str
    kind: AttributeKind
    categories: tuple[str, ...] = ()
    mean: float = 0.0
    std: float = 1.0
    positive_rate: float = 0.5
    description: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise DataError(f"attribute {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}")
        if self.kind == "categorical" and len(self.categories) < 2:
            raise DataError(f"categorical attribute {self.name!r} needs at least two categories")
        object.__setattr__(self, "categories", tuple(self.categories))

    @property
    def width(self) -> int:
        """Number of columns this attribute takes in a condition vector."""
        return len(self.categories) if self.kind == "categorical" else 1


@dataclass(frozen=True)
class AttributeSchema:
    """An ordered collection of :class:`Attribute` with lookup, validation and encoding."""

    attributes: tuple[Attribute, ...] = field(default_factory=tuple)

    def __post_init__(self):
        object.__setattr__(self, "attributes", tuple(self.attributes))
        names = [a.name for a in self.attributes]
        if len(set(names)) != len(names):
            raise DataError(f"duplicate attribute names in {names}")

    # -- lookup ---------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return [a.name for a in self.attributes]

    def __len__(self) -> int:
        return len(self.attributes)

    def __iter__(self):
        return iter(self.attributes)

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def __getitem__(self, name: str) -> Attribute:
        return self.attributes[self.index(name)]

    def index(self, name: str) -> int:
        """Column of ``name``; an unknown name raises an error that lists the valid ones."""
        try:
            return self.names.index(name)
        except ValueError:
            raise UnknownAttributeError(
                f"unknown attribute {name!r}; valid attributes: {', '.join(self.names) or '(none)'}"
            ) from None

    def validate_names(self, names: Iterable[str]) -> list[str]:
        names = list(names)
        for name in names:
            self.index(name)
        return names

    def subset(self, names: Sequence[str]) -> AttributeSchema:
        """A schema with only ``names``, in that order."""
        return AttributeSchema(tuple(self[name] for name in self.validate_names(names)))

    def columns(self, names: Sequence[str]) -> list[int]:
        return [self.index(n) for n in names]

    # -- statistics -----------------------------------------------------------------------
    def with_statistics(self, values: torch.Tensor) -> AttributeSchema:
        """Return a copy whose normalisation statistics are fitted on ``values`` ``[N, K]`` (NaN ignored)."""
        self.check_values(values)
        fitted = []
        for column, attribute in enumerate(self.attributes):
            observed = values[:, column]
            observed = observed[~torch.isnan(observed)].double()
            if observed.numel() == 0:
                fitted.append(attribute)
            elif attribute.kind == "binary":
                fitted.append(replace(attribute, positive_rate=float(observed.mean())))
            elif attribute.kind == "continuous":
                std = float(observed.std()) if observed.numel() > 1 else 1.0
                fitted.append(replace(attribute, mean=float(observed.mean()), std=std if std > 0 else 1.0))
            else:
                fitted.append(attribute)
        return AttributeSchema(tuple(fitted))

    def check_values(self, values: torch.Tensor, source: str = "attribute values") -> None:
        """Raise :class:`DataError` naming the first row whose value is impossible for its kind."""
        if values.ndim != 2 or values.shape[1] != len(self):
            raise DataError(f"{source}: expected shape [N, {len(self)}], got {list(values.shape)}")
        for column, attribute in enumerate(self.attributes):
            col = values[:, column]
            present = ~torch.isnan(col)
            if attribute.kind == "binary":
                bad = present & (col != 0) & (col != 1)
            elif attribute.kind == "categorical":
                bad = present & ((col < 0) | (col >= len(attribute.categories)) | (col != col.round()))
            else:
                bad = torch.isinf(col)
            if bad.any():
                row = int(bad.nonzero()[0])
                raise DataError(
                    f"{source}: row {row}, attribute {attribute.name!r} ({attribute.kind}) "
                    f"has invalid value {float(col[row])}"
                )

    # -- encodings --------------------------------------------------------------------------
    @property
    def condition_width(self) -> int:
        return sum(a.width for a in self.attributes)

    def condition_vector(self, values: torch.Tensor) -> torch.Tensor:
        """Encode ``[N, K]`` values as the input of a conditional network ``[N, condition_width]``.

        Binary → ±1, continuous → standardised, categorical → one-hot; a missing value → zeros
        (the midpoint between the classes, or the mean).
        """
        pieces = []
        for column, attribute in enumerate(self.attributes):
            col = values[:, column].float()
            missing = torch.isnan(col)
            if attribute.kind == "binary":
                piece = (2 * col - 1).unsqueeze(1)
            elif attribute.kind == "continuous":
                piece = ((col - attribute.mean) / attribute.std).unsqueeze(1)
            else:
                index = torch.nan_to_num(col, nan=0.0).long().clamp(0, len(attribute.categories) - 1)
                piece = torch.nn.functional.one_hot(index, len(attribute.categories)).float()
            pieces.append(torch.where(missing.unsqueeze(1), torch.zeros_like(piece), piece))
        if not pieces:
            return torch.zeros(values.shape[0], 0)
        return torch.cat(pieces, dim=1)

    def standardize(self, name: str, value: float) -> float:
        attribute = self[name]
        return (value - attribute.mean) / attribute.std if attribute.kind == "continuous" else value

    def parse_value(self, name: str, text: str | float | int) -> float:
        """Parse a user-supplied value (``"1"``, ``"yes"``, ``"0.3"``, a category name) into the stored form."""
        attribute = self[name]
        if attribute.kind == "categorical":
            if isinstance(text, str) and text in attribute.categories:
                return float(attribute.categories.index(text))
            try:
                value = float(text)
            except ValueError:
                raise DataError(
                    f"{name}: {text!r} is not one of the categories {', '.join(attribute.categories)}"
                ) from None
            if value != int(value) or not 0 <= value < len(attribute.categories):
                raise DataError(f"{name}: category index must be 0..{len(attribute.categories) - 1}")
            return value
        if isinstance(text, str):
            lowered = text.strip().lower()
            if attribute.kind == "binary" and lowered in {"yes", "true", "on", "+"}:
                return 1.0
            if attribute.kind == "binary" and lowered in {"no", "false", "off", "-"}:
                return 0.0
        try:
            value = float(text)
        except ValueError:
            raise DataError(f"{name}: {text!r} is not a number") from None
        if attribute.kind == "binary":
            if value == -1:  # the ±1 convention of CelebA-style label files
                value = 0.0
            if value not in (0.0, 1.0):
                raise DataError(f"{name} is binary: use 1/0 (or yes/no), got {text!r}")
        if math.isnan(value):
            raise DataError(f"{name}: a target value cannot be NaN")
        return value

    # -- serialisation ----------------------------------------------------------------------
    def to_dict(self) -> list[dict[str, Any]]:
        return [{**asdict(a), "categories": list(a.categories)} for a in self.attributes]

    @classmethod
    def from_dict(cls, items: Sequence[dict[str, Any]]) -> AttributeSchema:
        try:
            return cls(tuple(Attribute(**{**item, "categories": tuple(item.get("categories", ()))})
                             for item in items))
        except TypeError as error:
            raise DataError(f"malformed attribute schema: {error}") from None

    def describe(self) -> str:
        parts = []
        for a in self.attributes:
            if a.kind == "categorical":
                parts.append(f"{a.name} (categorical: {', '.join(a.categories)})")
            else:
                parts.append(f"{a.name} ({a.kind})")
        return ", ".join(parts)
