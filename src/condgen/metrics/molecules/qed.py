"""QED and Crippen logP of one molecule together, with QED's structural alerts screened.

``rdkit.Chem.QED.qed`` computes eight properties, two of which dominate its cost: Crippen logP
(which MOSES also computes on its own, so twice per molecule) and 116 structural-alert
substructure matches. :func:`qed_and_logp` computes the same eight properties exactly as
``QED.properties`` does, except that the alerts are screened by pattern fingerprint
(:mod:`~condgen.metrics.molecules.screening`, which never changes a match) and logP is shared,
then hands them to ``QED.qed``. The tests compare it with ``QED.qed`` and ``Crippen.MolLogP``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from condgen.metrics.molecules.screening import pattern_fingerprints, possible_matches


@lru_cache(maxsize=1)
def _alert_fingerprints() -> np.ndarray:
    from rdkit.Chem import QED

    return pattern_fingerprints(QED.StructuralAlerts)


def qed_and_logp(mol) -> tuple[float, float]:
    """``(QED.qed(mol), Crippen.MolLogP(mol))`` of an RDKit molecule, computed with shared work."""
    from rdkit import Chem
    from rdkit.Chem import QED, Crippen, MolSurf
    from rdkit.Chem import rdMolDescriptors as rdmd

    no_hydrogens = Chem.RemoveHs(mol)  # what QED.properties scores
    alogp = Crippen.MolLogP(no_hydrogens)
    alerts = QED.StructuralAlerts
    properties = QED.QEDproperties(
        MW=rdmd._CalcMolWt(no_hydrogens),
        ALOGP=alogp,
        HBA=sum(len(no_hydrogens.GetSubstructMatches(pattern)) for pattern in QED.Acceptors
                if no_hydrogens.HasSubstructMatch(pattern)),
        HBD=rdmd.CalcNumHBD(no_hydrogens),
        PSA=MolSurf.TPSA(no_hydrogens),
        ROTB=rdmd.CalcNumRotatableBonds(no_hydrogens, rdmd.NumRotatableBondsOptions.Strict),
        AROM=len(Chem.GetSSSR(Chem.DeleteSubstructs(Chem.Mol(no_hydrogens), QED.AliphaticRings))),
        ALERTS=sum(1 for i in possible_matches(no_hydrogens, _alert_fingerprints())
                   if no_hydrogens.HasSubstructMatch(alerts[i])),
    )
    # logP of the molecule as given: the same number unless RemoveHs dropped explicit hydrogens
    logp = alogp if no_hydrogens.GetNumAtoms() == mol.GetNumAtoms() else Crippen.MolLogP(mol)
    return float(QED.qed(mol, qedProperties=properties)), float(logp)
