"""The MOSES benchmark's molecule splits, read from the installed ``molsets`` wheel without importing it.

``import moses`` fails on current RDKit (it imports ``rdkit.six``), so condgen only locates the
package's files through the installed distribution's metadata and reads them itself. Install the
data with ``pip install --no-deps molsets==0.3.1`` (``--no-deps``: its pins are stale).
"""

from __future__ import annotations

import csv
import gzip
import io
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import numpy as np

from condgen.errors import ConfigError, DataError

MOSES_SPLITS = ("train", "test", "test_scaffolds")
INSTALL_HINT = "pip install --no-deps molsets==0.3.1"


def moses_package_dir() -> Path:
    """Folder of the ``moses`` package inside the installed molsets distribution (never imported).

    Raises:
        DataError: molsets is not installed, or its files are missing.
    """
    try:
        distribution = metadata.distribution("molsets")
    except metadata.PackageNotFoundError:
        raise DataError(f"the MOSES data set needs the molsets package: {INSTALL_HINT}") from None
    package = Path(str(distribution.locate_file("moses")))
    if not (package / "dataset" / "data").is_dir():
        raise DataError(f"molsets is installed but {package}/dataset/data is missing; reinstall: {INSTALL_HINT}")
    return package


def moses_data_dir() -> Path:
    """Folder holding ``train.csv.gz``, ``test.csv.gz`` and ``test_scaffolds.csv.gz``."""
    return moses_package_dir() / "dataset" / "data"


def moses_split_path(name: str) -> Path:
    """Path of the compressed CSV of split ``name`` (one of :data:`MOSES_SPLITS`)."""
    if name not in MOSES_SPLITS:
        raise ConfigError(f"unknown MOSES split {name!r}; choose one of {list(MOSES_SPLITS)}")
    path = moses_data_dir() / f"{name}.csv.gz"
    if not path.is_file():
        raise DataError(f"{path}: MOSES split file missing; reinstall: {INSTALL_HINT}")
    return path


def moses_statistics_path(name: str) -> Path | None:
    """The precomputed statistics molsets ships for split ``name`` (``<name>_stats.npz``), None if absent.

    molsets 0.3.1 ships them for "test" and "test_scaffolds" (a pickled dict: read them only with
    :func:`condgen.data.strict_pickle.strict_load_npz`).
    """
    moses_split_path(name)  # checks the name
    path = moses_data_dir() / f"{name}_stats.npz"
    return path if path.is_file() else None


@lru_cache(maxsize=3)
def _read_split(name: str) -> tuple[str, ...]:
    path = moses_split_path(name)
    with io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        if "SMILES" not in header:
            raise DataError(f"{path}: no SMILES column (columns {header}); reinstall: {INSTALL_HINT}")
        column = header.index("SMILES")
        return tuple(row[column] for row in reader)


def moses_split(name: str = "train", n: int | None = None, seed: int = 0) -> list[str]:
    """SMILES of the MOSES split ``name``.

    Sizes: "train" 1,584,663 molecules, "test" 176,074, "test_scaffolds" 176,225.

    Args:
        name: one of :data:`MOSES_SPLITS`.
        n: if given, a random subset of ``n`` molecules (without replacement), kept in file order.
        seed: the subset's seed; the same ``(name, n, seed)`` always gives the same molecules.
    """
    smiles = _read_split(name)
    if n is None:
        return list(smiles)
    if not 0 < n <= len(smiles):
        raise ConfigError(f"n={n}: the MOSES {name} split holds {len(smiles)} molecules; choose 1..{len(smiles)}")
    chosen = np.sort(np.random.default_rng(seed).choice(len(smiles), size=n, replace=False))
    return [smiles[i] for i in chosen]
