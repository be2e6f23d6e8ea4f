"""Validity and mean logP of SMILES files, computed with RDKit alone (no condgen code).

    .venv/bin/python benchmarks/rdkit_logp_check.py out_1.5.smi out_3.0.smi out_4.5.smi

An independent check of what ``condgen mol sample --target logp=T`` reports: every line counts,
a line is valid when ``Chem.MolFromSmiles`` parses it, logP is Crippen's (``Crippen.MolLogP``).
"""

import statistics
import sys

from rdkit import Chem, RDLogger
from rdkit.Chem import Crippen


def main() -> None:
    RDLogger.DisableLog("rdApp.*")
    for path in sys.argv[1:]:
        with open(path) as handle:
            lines = [line.strip() for line in handle if line.strip()]
        molecules = [m for m in (Chem.MolFromSmiles(s) for s in lines) if m is not None]
        values = [Crippen.MolLogP(m) for m in molecules]
        mean = statistics.fmean(values) if values else float("nan")
        print(f"{path}: {len(lines)} lines, validity {len(molecules) / len(lines):.3f}, mean logP {mean:.3f}")


if __name__ == "__main__":
    main()
