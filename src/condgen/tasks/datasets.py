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
