"""``condgen datasets``: the built-in data sets, what they are and their attributes."""

from __future__ import annotations

from condgen.data import describe_builtin, load_dataset
from condgen.errors import CondgenError


def describe_datasets() -> list[tuple[str, str, str]]:
    """``(name, description, attributes)`` of each built-in set; a set that cannot be loaded here (e.g.
    ``moses`` without the molsets package) says why in place of its attributes."""
    rows = []
    for name, description in describe_builtin():
        try:
            attributes = load_dataset(name, n=64).schema.describe()
        except CondgenError as error:
            attributes = f"unavailable: {error}"
        rows.append((name, description, attributes))
    return rows
