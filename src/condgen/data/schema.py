"""The one attribute schema shared by data loaders, the plugin, conditional baselines and evaluators.

Attribute values of a data set are stored as a float tensor ``[N, K]``:

* ``binary`` — 0.0 or 1.0,
* ``continuous`` — the raw value (the schema holds its mean and standard deviation),
* ``categorical`` — the category index 0 … C-1,

and ``NaN`` marks a missing value for every kind.
"""

from __future__ import annotations

import difflib
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
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


def did_you_mean(name: str, valid: Sequence[str]) -> str:
    """``"; did you mean 'Smiling'?"`` when ``name`` is close to one of ``valid`` (same letters in another
    case first, then :mod:`difflib`'s close matches), else ``""``."""
    same_letters = [v for v in valid if v.lower() == name.lower()]
    close = same_letters or difflib.get_close_matches(name, list(valid), n=3, cutoff=0.6)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


@dataclass(frozen=True)
class AttributeSchema:
    """An ordered collection of :class:`Attribute` with lookup, validation and encoding.

    ``former_names`` maps names an attribute had in earlier versions to its name now (e.g. the digits'
    ``digit`` → ``label``): artifacts that ask for the former name still find the column, under that name.
    """

    attributes: tuple[Attribute, ...] = field(default_factory=tuple)
    former_names: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

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
        """Column of ``name`` (or of the attribute it is a former name of); an unknown name raises an error
        that suggests a close name and lists the valid ones."""
        names = self.names
        if name not in names and self.former_names.get(name) in names:
            name = self.former_names[name]
        if name in names:
            return names.index(name)
        raise UnknownAttributeError(
            f"unknown attribute {name!r}{did_you_mean(name, names)} (valid attributes: {', '.join(names) or 'none'})"
        )

    def validate_names(self, names: Iterable[str]) -> list[str]:
        names = list(names)
        for name in names:
            self.index(name)
        return names

    def subset(self, names: Sequence[str]) -> AttributeSchema:
        """A schema with only ``names``, in that order (an attribute asked for by a former name keeps it)."""
        return AttributeSchema(tuple(replace(self[name], name=name) for name in self.validate_names(names)),
                               self.former_names)

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
        return AttributeSchema(tuple(fitted), self.former_names)

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


# -- enough labels? -----------------------------------------------------------------------------------------
#: Labelled examples wanted per latent dimension. Cover's theorem: up to 2·D points in general position in D
#: dimensions can be split by a hyperplane whatever their labels, and the flow is more flexible than a
#: hyperplane; 10 per dimension is the usual rule of thumb (events per variable) that keeps this far away.
EXAMPLES_PER_LATENT_DIMENSION = 10


class FewLabelsWarning(UserWarning):
    """The labelled set is small for the latent size: a plugin can memorise it (train accuracy 1.0)."""


def warn_if_few_labels(schema: AttributeSchema, values: torch.Tensor, latent_dim: int) -> None:
    """Warn (one line) when an attribute has fewer than ``EXAMPLES_PER_LATENT_DIMENSION × latent_dim``
    labelled examples in ``values [N, K]``; its train accuracy then says nothing about held-out data."""
    wanted = EXAMPLES_PER_LATENT_DIMENSION * latent_dim
    counts = {a.name: int((~torch.isnan(values[:, i])).sum()) for i, a in enumerate(schema)}
    few = {name: count for name, count in counts.items() if count < wanted}
    if few:
        listed = ", ".join(f"{name} ({count})" for name, count in few.items())
        warnings.warn(f"few labelled examples for a latent space of {latent_dim} dimensions: {listed}, fewer than "
                      f"{EXAMPLES_PER_LATENT_DIMENSION} × {latent_dim} = {wanted}; the plugin can memorise them "
                      "(even random labels reach train accuracy 1.0), so judge it on held-out data",
                      FewLabelsWarning, stacklevel=2)
