"""Compute MOSES metric values with the ORIGINAL MOSES code, for condgen's re-implementation to match.

Run from the repository root (takes under a minute on 2 cores):

    .venv/bin/python tests/metrics/moses_reference/compute_reference.py            # values only
    .venv/bin/python tests/metrics/moses_reference/compute_reference.py --rebuild-sample

It calls ``moses.get_all_metrics`` of molsets 0.3.1, unmodified, after the import shims of
``moses_shims.py`` (rdkit.six, pandas.DataFrame.append, numpy.NaN; nothing MOSES computes), on the
committed input ``sample.smi`` against the committed small reference sets ``test_ref.smi``,
``test_scaffolds_ref.smi`` and ``train_ref.smi`` (custom references, so MOSES computes their
statistics with this RDKit, as condgen does), and writes ``reference_values.json``.

``--rebuild-sample`` first redraws those four files from the MOSES splits (seeded, so it gives the
same files): 500 test molecules, 60 training molecules, 60 duplicates (half written as other,
non-canonical SMILES of the same molecule), 24 valid molecules that fail the MOSES filters and 40
invalid strings; references of 600 test, 600 scaffold-test and 3,000 training molecules. (600, not
fewer: with fewer reference molecules than ChemNet's 512 features the FCD covariance is singular.)
The full-size comparison and the timing are in ``benchmarks/moses_metrics_speed.py``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

FILES = {"sample": "sample.smi", "test": "test_ref.smi", "test_scaffolds": "test_scaffolds_ref.smi",
         "train": "train_ref.smi"}
#: Valid molecules that fail a MOSES filter: charge, a ring of 8+, an element outside C N S O F Cl Br H,
#: a PAINS / MCF match.
FILTER_FAILURES = [
    "C[N+](C)(C)C", "CC(=O)[O-]", "C1CCCCCCC1", "C1CCCCCCCCCCC1", "CP(=O)(O)O", "CC[Se]C", "c1ccc(I)cc1",
    "CB(O)O", "C[Si](C)(C)C", "CCCCCl", "N#CC=C", "O=C(C=C)N", "Oc1ccc(O)cc1", "CC(C)=NNc1ccccc1",
    "O=C1C=CC(=O)C=C1", "CCN=NCC", "Nc1ccc(N)cc1", "CSSC", "C=CC#N", "O=[N+]([O-])c1ccccc1",
    "CCCCCCCCCCCCCCCCBr", "c1ccc2c(c1)ccc1ccccc12", "C1=CC=CC=CC=C1", "OO",
]
#: Strings RDKit cannot parse: unclosed rings and branches, bad valences, unknown elements, junk.
INVALID_HEADS = ["C1CC", "CC(C", "C(=O)(=O)(=O)C", "c1cccc1", "Xx", "C)", "[C", "CC##C", "N(C)(C)(C)(C)C",
                 "c1ccccc", "C%1", "Cl(Cl)(Cl)(Cl)Cl"]


def rebuild_sample(seed: int = 0) -> None:
    """Redraw the sample and reference files from the MOSES splits (see the module docstring)."""
    import numpy as np
    from rdkit import Chem

    from condgen.data.moses import moses_split

    rng = np.random.default_rng(seed)
    test = moses_split("test", n=1100, seed=seed + 1)
    test_ref, from_test = test[:600], test[600:]
    test_scaffolds_ref = moses_split("test_scaffolds", n=600, seed=seed + 2)
    train_ref = moses_split("train", n=3000, seed=seed + 3)
    from_train = [train_ref[i] for i in rng.choice(len(train_ref), 60, replace=False)]
    valid = from_test + from_train + FILTER_FAILURES
    duplicates = []
    for i, j in enumerate(rng.choice(len(from_test) + len(from_train), 60, replace=False)):
        smiles = valid[j]
        if i % 2:  # the same molecule written differently: only canonicalisation finds the duplicate
            smiles = Chem.MolToSmiles(Chem.MolFromSmiles(smiles), doRandom=True, canonical=False)
        duplicates.append(smiles)
    invalid = []
    for i in range(40):
        if i < len(INVALID_HEADS):
            invalid.append(INVALID_HEADS[i])
        else:  # a real molecule with one character cut out of the middle: mostly unparsable
            smiles = from_test[int(rng.integers(len(from_test)))]
            cut = len(smiles) // 2
            candidate = smiles[:cut] + smiles[cut + 1:] + "("
            invalid.append(candidate)
    sample = valid + duplicates + invalid
    sample = [sample[i] for i in rng.permutation(len(sample))]
    for key, values in [("sample", sample), ("test", test_ref), ("test_scaffolds", test_scaffolds_ref),
                        ("train", train_ref)]:
        (HERE / FILES[key]).write_text("\n".join(values) + "\n")
    print(f"wrote {len(sample)} sample SMILES and references of {len(test_ref)}, {len(test_scaffolds_ref)}, "
          f"{len(train_ref)} to {HERE}")


def read_lines(name: str) -> list[str]:
    return (HERE / FILES[name]).read_text().splitlines()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild-sample", action="store_true", help="redraw the input files first")
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args()
    if args.rebuild_sample:
        rebuild_sample()

    from moses_shims import import_original_moses

    moses, shims = import_original_moses()
    import rdkit

    inputs = {name: read_lines(name) for name in FILES}
    start = time.perf_counter()
    values = moses.get_all_metrics(inputs["sample"], n_jobs=args.n_jobs, device="cpu", test=inputs["test"],
                                   test_scaffolds=inputs["test_scaffolds"], train=inputs["train"])
    seconds = time.perf_counter() - start
    record = {
        "values": {key: float(value) for key, value in values.items()},
        "reference": f"moses.get_all_metrics of molsets {moses.__version__} (unmodified)",
        "shims": shims,
        "call": f"get_all_metrics(sample, n_jobs={args.n_jobs}, device='cpu', test=test_ref, test_scaffolds="
                "test_scaffolds_ref, train=train_ref)",
        "sizes": {name: len(lines) for name, lines in inputs.items()},
        "rdkit": rdkit.__version__,
        "python": platform.python_version(),
        "seconds": round(seconds, 1),
    }
    (HERE / "reference_values.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record["values"], indent=2))


if __name__ == "__main__":
    main()
