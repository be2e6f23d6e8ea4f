"""Make the ORIGINAL MOSES code (molsets 0.3.1) importable on current RDKit, NumPy and pandas.

Used only by the scripts that compute reference values with MOSES itself (never by condgen). The
shims touch nothing MOSES computes, only the names it imports:

* ``rdkit.six`` (removed from RDKit in 2021): MOSES's SA_Score imports ``iteritems`` from it; a
  stand-in module gives ``iteritems(d) = iter(d.items())``.
* ``pandas.DataFrame.append`` (removed in pandas 2): ``moses.metrics.utils`` joins the MCF and PAINS
  tables with it at import; the stand-in calls ``pandas.concat`` with the same ``sort``.
* ``numpy.NaN`` (removed in NumPy 2): MOSES's ``fingerprints`` names it for invalid molecules;
  aliased to ``numpy.nan``.

pomegranate (needed only by ``moses.baselines.hmm``) is not needed: ``import moses`` never imports
the baselines.
"""

from __future__ import annotations

import sys
import types


def install_shims() -> list[str]:
    """Install the stand-ins listed above; returns what was installed (for the record)."""
    installed = []
    import numpy as np
    import pandas as pd
    import rdkit

    if "rdkit.six" not in sys.modules:
        six = types.ModuleType("rdkit.six")
        six.iteritems = lambda mapping: iter(mapping.items())
        six.PY3 = True
        sys.modules["rdkit.six"] = six
        rdkit.six = six
        installed.append("rdkit.six.iteritems")
    if not hasattr(pd.DataFrame, "append"):
        def append(self, other, ignore_index=False, sort=False):
            return pd.concat([self, other], ignore_index=ignore_index, sort=sort)

        pd.DataFrame.append = append
        installed.append("pandas.DataFrame.append -> pandas.concat")
    if not hasattr(np, "NaN"):
        np.NaN = np.nan
        installed.append("numpy.NaN = numpy.nan")
    return installed


def import_original_moses():
    """``(moses module, list of shims)`` — the unmodified molsets 0.3.1 package."""
    import os

    os.environ.setdefault("MPLBACKEND", "Agg")  # moses.utils imports pyplot
    shims = install_shims()
    import moses

    return moses, shims
