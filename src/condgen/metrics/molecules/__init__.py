"""Molecule metrics: RDKit properties and the MOSES metric set for current RDKit.

Needs the ``molecules`` extra (rdkit, fcd_torch, pandas); the MOSES reference sets come from
``pip install --no-deps molsets==0.3.1``.

* :func:`compute_properties` — logP, QED, SAS, TPSA, MolWt of SMILES (NaN for invalid ones).
* :func:`moses_metrics` — valid, unique@k, FCD/SNN/Frag/Scaf vs Test and TestSF, IntDiv(2),
  Filters, property Wasserstein distances and Novelty, as ``moses.get_all_metrics`` defines them.
"""

from condgen.data.chem.properties import PROPERTY_NAMES, compute_properties, parse_smiles
from condgen.metrics.molecules.moses_metrics import MOSES_METRIC_KEYS, moses_metrics

__all__ = ["MOSES_METRIC_KEYS", "PROPERTY_NAMES", "compute_properties", "moses_metrics", "parse_smiles"]
