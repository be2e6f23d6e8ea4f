"""Attribute kinds said aloud and overridable: a user's ``--kind NAME=KIND`` (``kinds=`` in Python) checked
against the attributes, converted values for the kind asked for, and one line per attribute saying the kind it
got and why (which the readers log when they load a data set)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import torch

from condgen.data.schema import KINDS, Attribute, AttributeSchema, did_you_mean
from condgen.errors import ConfigError, DataError


def parse_kinds(kinds: Mapping[str, str] | str | None, names: Sequence[str]) -> dict[str, str]:
    """Validate a per-attribute kind override: a mapping, or ``"col=kind,col2=kind"`` from a command line.

    Unknown names and kinds are a :class:`ConfigError` naming ``--kind`` (with a close name suggested)."""
    if kinds is None:
        return {}
    if isinstance(kinds, str):
        try:
            kinds = dict(item.split("=", 1) for item in kinds.split(",") if item.strip())
        except ValueError:
            raise ConfigError(f"--kind expects NAME=KIND (kinds='age=continuous,hair=categorical' in Python), "
                              f"got {kinds!r}") from None
    parsed = {str(k).strip(): str(v).strip() for k, v in kinds.items()}
    for name, kind in parsed.items():
        if name not in names:
            raise ConfigError(f"--kind {name}={kind}: unknown attribute {name!r}{did_you_mean(name, names)} "
                              f"(attributes: {', '.join(names)})")
        if kind not in KINDS:
            raise ConfigError(f"--kind {name}={kind}: the kind must be one of {', '.join(KINDS)}")
    return parsed


def _numeric_categories(attribute: Attribute) -> torch.Tensor | None:
    try:
        return torch.tensor([float(c) for c in attribute.categories])
    except ValueError:
        return None


def convert_kind(attribute: Attribute, column: torch.Tensor, kind: str) -> tuple[Attribute, torch.Tensor]:
    """``attribute`` as ``kind`` and its stored values ``column [N]`` re-encoded (NaN stays missing).

    Categories named by numbers become those numbers when continuous; distinct values become the
    categories of a categorical one; binary needs values 0/1 (or two categories)."""
    if kind == attribute.kind:
        return attribute, column
    present = ~torch.isnan(column)
    if attribute.kind == "categorical":
        numbers = _numeric_categories(attribute)
        index = torch.nan_to_num(column, nan=0.0).long()
        if kind == "continuous":
            raw = numbers[index] if numbers is not None else index.float()
            return Attribute(attribute.name, kind, description=attribute.description), \
                torch.where(present, raw, torch.nan)
        if len(attribute.categories) != 2:
            raise DataError(f"--kind {attribute.name}=binary: {attribute.name!r} has {len(attribute.categories)} "
                            f"classes ({', '.join(attribute.categories)}), a binary attribute two")
        return Attribute(attribute.name, kind, description=attribute.description), column
    if kind == "binary":
        stray = present & (column != 0) & (column != 1)
        if stray.any():
            raise DataError(f"--kind {attribute.name}=binary: {attribute.name!r} holds {float(column[stray][0]):g}, "
                            "a binary attribute only 0 and 1")
        return Attribute(attribute.name, kind, description=attribute.description), column
    if kind == "categorical":
        distinct = torch.unique(column[present])
        categories = tuple(f"{float(v):g}" for v in distinct)
        if len(categories) < 2:
            raise DataError(f"--kind {attribute.name}=categorical: {attribute.name!r} has {len(categories)} distinct "
                            "value(s); a categorical attribute needs at least two")
        index = torch.searchsorted(distinct, torch.nan_to_num(column, nan=float(distinct[0]))).float()
        return Attribute(attribute.name, kind, categories, description=attribute.description), \
            torch.where(present, index, torch.nan)
    return Attribute(attribute.name, kind, description=attribute.description), column  # binary → continuous


def with_kinds(schema: AttributeSchema, values: torch.Tensor, kinds: Mapping[str, str]
               ) -> tuple[AttributeSchema, torch.Tensor]:
    """The schema with the attributes of ``kinds`` converted (:func:`convert_kind`), and their values."""
    attributes, columns = [], []
    for column, attribute in enumerate(schema):
        converted, values_column = convert_kind(attribute, values[:, column], kinds.get(attribute.name, attribute.kind))
        attributes.append(converted)
        columns.append(values_column)
    converted_values = torch.stack(columns, dim=1) if columns else values
    return AttributeSchema(tuple(attributes), schema.former_names).with_statistics(converted_values), converted_values


def other_kind(attribute: Attribute) -> str | None:
    """The kind a user most likely means instead (what a line about the attribute suggests with ``--kind``):
    numbered classes may be a quantity, two named ones a yes/no, a quantity classes, a yes/no classes."""
    if attribute.kind == "categorical":
        if _numeric_categories(attribute) is not None:
            return "continuous"
        return "binary" if len(attribute.categories) == 2 else None
    return "categorical"


def describe_kind(attribute: Attribute) -> str:
    """``"categorical, 10 classes"``, ``"binary, 41% positive"``, ``"continuous, mean 31.2, std 9.8"``."""
    if attribute.kind == "categorical":
        return f"categorical, {len(attribute.categories)} classes"
    if attribute.kind == "binary":
        return f"binary, {attribute.positive_rate:.0%} positive"
    return f"continuous, mean {attribute.mean:.3g}, std {attribute.std:.3g}"


def _in_parentheses(*parts: str) -> str:
    parts = tuple(part for part in parts if part)
    return f" ({'; '.join(parts)})" if parts else ""


def kind_lines(schema: AttributeSchema, reasons: Mapping[str, str], given: Iterable[str] = (),
               group_from: int = 4) -> list[str]:
    """One line per attribute saying its kind and why (``reasons[name]``), with the ``--kind`` that overrides
    it (none for the attributes whose kind was ``given``): ``attribute label: categorical, 10 classes (the class
    labels of …; override with --kind label=continuous)``. At least ``group_from`` attributes of one kind and
    reason (CelebA's 40) share a line."""
    given = set(given)
    groups: dict[tuple[str, str], list[Attribute]] = {}
    for attribute in schema:
        reason = "as given with --kind" if attribute.name in given else reasons.get(attribute.name, "")
        groups.setdefault((attribute.kind, reason), []).append(attribute)
    placed: list[tuple[int, str]] = []  # (column of the first attribute, line): lines keep the schema's order
    for (kind, reason), members in groups.items():
        alternatives = {a.name: None if a.name in given else other_kind(a) for a in members}
        if len(members) >= group_from:
            alternative = alternatives[members[0].name]
            override = f"override one with --kind NAME={alternative}" if alternative else ""
            placed.append((schema.index(members[0].name), f"attributes {', '.join(a.name for a in members)}: "
                           f"{kind}{_in_parentheses(reason, override)}"))
            continue
        for a in members:
            override = f"override with --kind {a.name}={alternatives[a.name]}" if alternatives[a.name] else ""
            placed.append((schema.index(a.name), f"attribute {a.name}: {describe_kind(a)}"
                                                  f"{_in_parentheses(reason, override)}"))
    return [line for _, line in sorted(placed)]
