"""Convert RDKit Contrib's SA-score fragment table (``fpscores.pkl.gz``) into condgen's pickle-free copy.

    python tools/sa_fragment_scores.py     # writes src/condgen/data/chem/sa_fragment_scores.npz

RDKit ships Ertl & Schuffenhauer's fragment contributions only as a pickle. condgen never unpickles at
run time, so this one-off tool (run by a maintainer when RDKit's table changes) reads the pickle with an
unpickler that refuses every class lookup — only numbers and lists can come out — and stores the table
as two plain arrays (``ids`` int64, ``scores`` float64) read with ``np.load(..., allow_pickle=False)``.
"""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np
from rdkit import RDConfig

TARGET = Path(__file__).resolve().parents[1] / "src/condgen/data/chem/sa_fragment_scores.npz"


class PlainDataUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        raise ValueError(f"fpscores.pkl.gz refers to {module}.{name}; expected plain numbers only")


def main() -> None:
    source = Path(RDConfig.RDContribDir) / "SA_Score" / "fpscores.pkl.gz"
    with gzip.open(source, "rb") as handle:
        rows = PlainDataUnpickler(handle).load()
    scores = {int(fragment): float(row[0]) for row in rows for fragment in row[1:]}
    ids = np.fromiter(scores, dtype=np.int64, count=len(scores))
    np.savez_compressed(TARGET, ids=ids, scores=np.array([scores[i] for i in ids], dtype=np.float64))
    print(f"wrote {TARGET} ({len(ids)} fragments) from {source}")


if __name__ == "__main__":
    main()
