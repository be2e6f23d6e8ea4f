"""QED and Crippen logP of one molecule together, with QED's structural alerts screened.

``rdkit.Chem.QED.qed`` computes eight properties; two of them are most of its cost: Crippen logP
(which MOSES also computes on its own, so twice per molecule) and 116 structural-alert
substructure matches. :func:`qed_and_logp` computes the eight properties exactly as
``QED.properties`` does, except that the alerts and the acceptor patterns are screened by one
pattern fingerprint of the molecule (:mod:`~condgen.metrics.molecules.screening`, which never
changes a match) and logP is computed once, then hands them to ``QED.qed``. The tests check both
numbers equal RDKit's bit for bit.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from condgen.metrics.molecules.screening import pattern_fingerprints, possible_matches


@lru_cache(maxsize=1)
def acceptor_and_alert_fingerprints() -> np.ndarray:
    """Packed pattern fingerprints of QED's acceptor patterns, then its structural alerts, once per process."""
    from rdkit.Chem import QED

    return pattern_fingerprints(list(QED.Acceptors) + list(QED.StructuralAlerts))


def qed_and_logp(mol) -> tuple[float, float]:
    """``(QED.qed(mol), Crippen.MolLogP(mol))`` of an RDKit molecule, computed with shared work."""
    from rdkit import Chem
    from rdkit.Chem import QED, Crippen, MolSurf
    from rdkit.Chem import rdMolDescriptors as rdmd

    scored = Chem.RemoveHs(mol)  # the molecule QED.properties scores
    alogp = Crippen.MolLogP(scored)
    acceptors, alerts = QED.Acceptors, QED.StructuralAlerts
    possible = possible_matches(scored, acceptor_and_alert_fingerprints())
    possible_acceptors = possible[possible < len(acceptors)]
    possible_alerts = possible[possible >= len(acceptors)] - len(acceptors)
    properties = QED.QEDproperties(
        MW=rdmd._CalcMolWt(scored),
        ALOGP=alogp,
        HBA=sum(len(scored.GetSubstructMatches(acceptors[i])) for i in possible_acceptors),
        HBD=rdmd.CalcNumHBD(scored),
        PSA=MolSurf.TPSA(scored),
        ROTB=rdmd.CalcNumRotatableBonds(scored, rdmd.NumRotatableBondsOptions.Strict),
        AROM=len(Chem.GetSSSR(Chem.DeleteSubstructs(Chem.Mol(scored), QED.AliphaticRings))),
        ALERTS=sum(1 for i in possible_alerts if scored.HasSubstructMatch(alerts[i])),
    )
    # logP of the molecule as given: the same number unless RemoveHs dropped explicit hydrogens
    logp = alogp if scored.GetNumAtoms() == mol.GetNumAtoms() else Crippen.MolLogP(mol)
    return float(QED.qed(mol, qedProperties=properties)), float(logp)
