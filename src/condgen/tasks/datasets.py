"""``condgen datasets``: the built-in data sets, what they are and their attributes, listed without building any."""

from __future__ import annotations

from condgen.data import describe_builtin
from condgen.errors import CondgenError


def describe_datasets() -> list[tuple[str, str, str, str, str]]:
    """``(name, modality, examples, attributes, description)`` of each built-in set, from the registry's static
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
        rows.append((dataset.name, dataset.modality, dataset.examples(), attributes, dataset.description))
    return rows
