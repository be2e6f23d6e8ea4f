"""Ertl & Schuffenhauer's synthetic accessibility score (SAS) from RDKit's Contrib, loaded safely.

RDKit ships the scorer as ``$RDContribDir/SA_Score/sascorer.py`` (not an importable package) with
its fragment contributions in ``fpscores.pkl.gz``, a pickle. condgen never unpickles: the same table
ships with condgen as ``sa_fragment_scores.npz`` (plain arrays, made by ``tools/sa_fragment_scores.py``
and checked equal to RDKit's), and is handed to the Contrib module so that it never reads its pickle.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path
from types import ModuleType

import numpy as np

from condgen.errors import DataError

FRAGMENT_SCORES = Path(__file__).with_name("sa_fragment_scores.npz")


def contrib_sa_dir() -> Path:
    """``SA_Score`` folder of RDKit's Contrib directory."""
    from rdkit import RDConfig

    folder = Path(RDConfig.RDContribDir) / "SA_Score"
    if not (folder / "sascorer.py").is_file():
        raise DataError(f"{folder}: RDKit's SA_Score Contrib files are missing; install the full rdkit wheel")
    return folder


def read_fragment_scores(path: Path = FRAGMENT_SCORES) -> dict[int, float]:
    """Fragment id → contribution, from condgen's ``sa_fragment_scores.npz`` (arrays ``ids``, ``scores``)."""
    with np.load(path, allow_pickle=False) as stored:
        return dict(zip(stored["ids"].tolist(), stored["scores"].tolist(), strict=True))


@lru_cache(maxsize=1)
def load_sascorer() -> ModuleType:
    """RDKit Contrib's ``sascorer`` module with its fragment scores loaded (once per process)."""
    folder = contrib_sa_dir()
    spec = importlib.util.spec_from_file_location("condgen_rdkit_contrib_sascorer", folder / "sascorer.py")
    if spec is None or spec.loader is None:
        raise DataError(f"{folder}/sascorer.py cannot be loaded as a module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module._fscores = read_fragment_scores()  # set before use, so Contrib never reads its pickle
    return module


def sa_score(mol) -> float:
    """Synthetic accessibility of an RDKit molecule: 1 (easy) … 10 (hard); NaN for an empty molecule."""
    score = load_sascorer().calculateScore(mol)
    return float("nan") if score is None else float(score)
