"""Ertl & Schuffenhauer's synthetic accessibility score (SAS) from RDKit's Contrib, loaded safely.

RDKit ships the scorer as ``$RDContribDir/SA_Score/sascorer.py`` (not an importable package) with
its fragment contributions in ``fpscores.pkl.gz``, a pickle of plain lists of numbers. Contrib's own
``readFragmentScores`` calls ``pickle.load`` on it, which would run any code a replaced file held;
here the file is read with an unpickler that refuses every global (class or function) lookup, so
only numbers and lists can come out of it, and the result is handed to the Contrib module.
"""

from __future__ import annotations

import gzip
import importlib.util
import pickle
from functools import lru_cache
from pathlib import Path
from types import ModuleType

from condgen.errors import DataError


class _PlainDataUnpickler(pickle.Unpickler):
    """Unpickler for data made only of builtin containers and numbers: any class lookup is refused."""

    def find_class(self, module: str, name: str):  # noqa: D401 - pickle's hook
        raise DataError(f"fpscores.pkl.gz refers to {module}.{name}; expected plain numbers only — the file "
                        "is not RDKit's original, reinstall rdkit")


def contrib_sa_dir() -> Path:
    """``SA_Score`` folder of RDKit's Contrib directory."""
    from rdkit import RDConfig

    folder = Path(RDConfig.RDContribDir) / "SA_Score"
    if not (folder / "sascorer.py").is_file() or not (folder / "fpscores.pkl.gz").is_file():
        raise DataError(f"{folder}: RDKit's SA_Score Contrib files are missing; install the full rdkit wheel")
    return folder


def read_fragment_scores(path: Path) -> dict[int, float]:
    """Fragment id → contribution, from an ``fpscores.pkl.gz`` (rows ``[score, id, id, …]``)."""
    with gzip.open(path, "rb") as handle:
        rows = _PlainDataUnpickler(handle).load()
    scores: dict[int, float] = {}
    for row in rows:
        value = float(row[0])
        for fragment_id in row[1:]:
            scores[fragment_id] = value
    return scores


@lru_cache(maxsize=1)
def load_sascorer() -> ModuleType:
    """RDKit Contrib's ``sascorer`` module with its fragment scores loaded (once per process)."""
    folder = contrib_sa_dir()
    spec = importlib.util.spec_from_file_location("condgen_rdkit_contrib_sascorer", folder / "sascorer.py")
    if spec is None or spec.loader is None:
        raise DataError(f"{folder}/sascorer.py cannot be loaded as a module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module._fscores = read_fragment_scores(folder / "fpscores.pkl.gz")  # so Contrib never unpickles
    return module


def sa_score(mol) -> float:
    """Synthetic accessibility of an RDKit molecule: 1 (easy) … 10 (hard); NaN for an empty molecule."""
    score = load_sascorer().calculateScore(mol)
    return float("nan") if score is None else float(score)
