"""Molecular properties and the MOSES metrics, checked against hand values and the original MOSES code."""

import json
import math
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("rdkit")
pytest.importorskip("fcd_torch")

from condgen.errors import ConfigError, DataError  # noqa: E402
from condgen.metrics.molecules import MOSES_METRIC_KEYS, compute_properties, moses_metrics  # noqa: E402
from condgen.metrics.molecules.fingerprints import (  # noqa: E402
    average_max_tanimoto,
    internal_diversities,
    internal_diversity,
)
from condgen.metrics.molecules.moses_metrics import cosine_similarity_of_counts  # noqa: E402

REFERENCE = Path(__file__).resolve().parent / "moses_reference"


def _lines(name: str) -> list[str]:
    return (REFERENCE / name).read_text().splitlines()


def _molsets_installed() -> bool:
    try:
        from condgen.data.moses import moses_package_dir

        moses_package_dir()
        return True
    except DataError:
        return False


needs_molsets = pytest.mark.skipif(not _molsets_installed(), reason="pip install --no-deps molsets==0.3.1")


def test_properties_match_hand_computed_values():
    values = compute_properties(["CCO", "c1ccccc1", "CC(=O)Oc1ccccc1C(=O)O", "C1CC"])
    # ethanol C2H6O, benzene C6H6, aspirin C9H8O4 (IUPAC atomic weights C 12.011, H 1.008, O 15.999)
    np.testing.assert_allclose(values["MolWt"][:3], [46.069, 78.114, 180.159], atol=1e-3)
    # Wildman-Crippen: ethanol C1 + C3 + O2 + 5 H1 + H2 = 0.1441 - 0.2035 - 0.2893 + 5*0.1230 - 0.2677;
    # benzene 6 aromatic C18 (0.1581) + 6 H1 (0.1230)
    np.testing.assert_allclose(values["logP"][:3], [-0.0014, 1.6866, 1.3101], atol=1e-4)
    # Ertl TPSA: O-H 20.23; aspirin 2 C=O (17.07) + ester O (9.23) + O-H (20.23)
    np.testing.assert_allclose(values["TPSA"][:3], [20.23, 0.0, 63.60], atol=1e-2)
    assert values["QED"][2] == pytest.approx(0.55, abs=0.005)  # aspirin, Bickerton et al. 2012
    assert values["SAS"][1] == pytest.approx(1.0)  # benzene: the easiest end of the scale
    assert values["SAS"][2] == pytest.approx(1.58, abs=0.01)
    assert all(math.isnan(values[name][3]) for name in values)  # unclosed ring: invalid


def test_properties_in_workers_equal_serial_and_names_are_checked():
    smiles = _lines("test_ref.smi")[:300]
    serial = compute_properties(smiles, names=("QED", "SAS"), n_jobs=1)
    parallel = compute_properties(smiles, names=("QED", "SAS"), n_jobs=2)
    for name in ("QED", "SAS"):
        np.testing.assert_array_equal(serial[name], parallel[name])
    with pytest.raises(ConfigError, match="choose from"):
        compute_properties(["CCO"], names=("logp",))


@pytest.fixture(params=["popcount", "matrix products"])
def tanimoto_path(request, monkeypatch):
    """Run a test on both Tanimoto paths: numba popcount (CPU default) and float32 matrix products."""
    from condgen.metrics.molecules import fingerprints

    if request.param == "matrix products":
        monkeypatch.setattr(fingerprints, "_use_popcount", lambda device: False)
    else:
        assert fingerprints._use_popcount(torch.device("cpu")), "numba is part of the molecules extra"
    return request.param


def test_nearest_neighbour_similarity_equals_moses_float32_bit_for_bit(monkeypatch, tanimoto_path):
    """SNN keeps only the largest intersection per on-bit count and skips groups that cannot win; the
    result must not change by one ulp. 3,000 references of 64 bits: large groups, many of them skipped."""
    from condgen.metrics.molecules import fingerprints, popcount

    rng = np.random.default_rng(1)
    reference = (rng.random((3000, 64)) < rng.uniform(0.05, 0.5, (3000, 1))).astype(np.uint8)
    generated = (rng.random((150, 64)) < rng.uniform(0.05, 0.5, (150, 1))).astype(np.uint8)
    generated[7], reference[11] = 0, 0
    both = generated.astype(np.float32) @ reference.T.astype(np.float32)  # MOSES: float32 torch.mm
    union = generated.sum(1, dtype=np.float32)[:, None] + reference.sum(1, dtype=np.float32)[None, :] - both
    with np.errstate(invalid="ignore"):
        moses = np.nan_to_num(both / union, nan=1.0).max(1).astype(np.float64).mean()
    assert average_max_tanimoto(reference, generated) == moses
    monkeypatch.setattr(fingerprints, "BLOCK", 16)  # many blocks per count group and per generated set
    monkeypatch.setattr(popcount, "QUERY_BLOCK", 7)  # many query blocks over two threads
    assert average_max_tanimoto(reference, generated) == moses
    assert average_max_tanimoto(reference[11:12], generated[7:8]) == 1.0  # two empty fingerprints
    assert average_max_tanimoto(reference[11:12], generated[:7]) == 0.0  # against an empty one


def test_tanimoto_aggregates_equal_brute_force(tanimoto_path):
    rng = np.random.default_rng(0)
    reference = (rng.random((70, 64)) < 0.2).astype(np.uint8)
    generated = (rng.random((45, 64)) < 0.2).astype(np.uint8)
    generated[3] = 0  # empty fingerprints: MOSES counts empty-vs-empty as similarity 1
    reference[5] = 0

    def tanimoto(a, b):
        both = a.astype(float) @ b.T.astype(float)
        union = a.sum(1)[:, None] + b.sum(1)[None, :] - both
        with np.errstate(invalid="ignore"):
            return np.nan_to_num(both / union, nan=1.0)

    assert average_max_tanimoto(reference, generated) == pytest.approx(tanimoto(generated, reference).max(1).mean())
    pairs = tanimoto(generated, generated)
    assert internal_diversity(generated, p=1) == pytest.approx(1 - pairs.mean(1).mean())
    assert internal_diversity(generated, p=2) == pytest.approx(1 - np.sqrt((pairs**2).mean(1)).mean())
    assert internal_diversities(generated, (1, 2)) == (internal_diversity(generated, 1),
                                                        internal_diversity(generated, 2))


def test_morgan_bits_equal_rdkit_legacy_fingerprint():
    from rdkit import Chem, DataStructs
    from rdkit.Chem import AllChem

    from condgen.metrics.molecules.features import morgan_bits

    for smiles in _lines("test_ref.smi")[:50]:
        mol = Chem.MolFromSmiles(smiles)
        legacy = np.zeros(1024, dtype=np.uint8)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            DataStructs.ConvertToNumpyArray(AllChem.GetMorganFingerprintAsBitVect(mol, 2, nBits=1024), legacy)
        np.testing.assert_array_equal(morgan_bits(mol), legacy)


@needs_molsets
def test_filters_apply_moses_rules():
    from condgen.metrics.molecules.features import describe_generated
    from condgen.metrics.molecules.filters import filter_patterns, passes_moses_filters

    assert len(filter_patterns()) == 502  # 22 MCF + 480 PAINS SMARTS
    # passes / charged / 8-membered ring / phosphorus / MCF1 (acyclic C=C next to a nitrile) / passes
    smiles = ["CCO", "C[N+](C)(C)C", "C1CCCCCCC1", "CP(=O)(O)O", "C=CC#N", "Oc1ccc(O)cc1"]
    verdicts = [record.passes_filters for record in describe_generated(smiles)]
    assert verdicts == [True, False, False, False, False, True]
    assert passes_moses_filters(None) is False


@needs_molsets
def test_filter_screen_never_changes_a_verdict():
    """Pattern-fingerprint screening must give exactly the verdicts of matching all 502 patterns."""
    from rdkit import Chem, RDConfig

    from condgen.metrics.molecules.filters import ALLOWED_ELEMENTS, _atom_queries, matches_any_pattern

    lines = (Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi").read_text().splitlines()[:200]
    mols = [Chem.MolFromSmiles(line.split()[0]) for line in lines]
    with_hydrogens = [Chem.AddHs(m) for m in mols if m is not None]
    unscreened = [matches_any_pattern(m, screen=False) for m in with_hydrogens]
    assert sum(unscreened) > 20  # NCI compounds are unfiltered: many match a PAINS or MCF pattern
    assert [matches_any_pattern(m) for m in with_hydrogens] == unscreened
    # the single-atom queries that replace MOSES's loops over atoms give the same answers
    charged, foreign = _atom_queries()
    for mol in [m for m in mols if m is not None] + [Chem.MolFromSmiles("[NH4+].[Cl-]"), Chem.MolFromSmiles("*C")]:
        assert mol.HasSubstructMatch(charged) == any(a.GetFormalCharge() != 0 for a in mol.GetAtoms())
        assert mol.HasSubstructMatch(foreign) == any(a.GetSymbol() not in ALLOWED_ELEMENTS for a in mol.GetAtoms())


def test_shared_qed_and_logp_equal_rdkit_exactly():
    from rdkit import Chem, RDConfig
    from rdkit.Chem import QED, Crippen

    from condgen.metrics.molecules.qed import qed_and_logp

    lines = (Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi").read_text().splitlines()[:150]
    smiles = [line.split()[0] for line in lines] + ["[2H]C([2H])O", "C[H]"]  # explicit hydrogens kept
    for mol in filter(None, map(Chem.MolFromSmiles, smiles)):
        assert qed_and_logp(mol) == (QED.qed(mol), Crippen.MolLogP(mol))


def test_cosine_of_counts():
    assert cosine_similarity_of_counts(Counter(a=1, b=1), Counter(a=1)) == pytest.approx(1 / math.sqrt(2))
    assert cosine_similarity_of_counts(Counter(a=2), Counter(a=5)) == pytest.approx(1.0)
    assert math.isnan(cosine_similarity_of_counts(Counter(), Counter(a=1)))


def test_chemnet_statistics_weight_duplicates_like_repeated_rows():
    from condgen.metrics.molecules.fcd import chemnet_activations, chemnet_statistics

    smiles = ["CCO", "CCO", "CCO", "c1ccccc1", "CCN", "CC(=O)O"]
    stats = chemnet_statistics(smiles)
    activations = chemnet_activations(smiles).astype(np.float64)
    np.testing.assert_allclose(stats.mu, activations.mean(0), atol=1e-6)
    np.testing.assert_allclose(stats.sigma, np.cov(activations.T), atol=1e-6)


def test_chemnet_input_equals_fcd_torch_one_hot_and_its_activations():
    import torch
    from fcd_torch import FCD
    from fcd_torch.utils import SmilesDataset

    from condgen.metrics.molecules.fcd import chemnet_activations, chemnet_inputs

    smiles = _lines("test_ref.smi")[:40] + ["CCl", "Brc1ccccc1", "[SiH4]", "C[Se]C", "CC.O", "Cl", "C" * 400,
                                            "C(Cl)" * 120]
    ours = chemnet_inputs(smiles).numpy()
    theirs = np.stack([SmilesDataset(smiles, canonize=False)[i] for i in range(len(smiles))]).astype(np.float32)
    np.testing.assert_array_equal(ours, theirs.transpose(0, 2, 1))
    with torch.no_grad():
        expected = FCD(device="cpu", n_jobs=1).model(torch.as_tensor(theirs).transpose(1, 2).float()).numpy()
    np.testing.assert_allclose(chemnet_activations(smiles, batch_size=16), expected, atol=1e-5)


@needs_molsets
def test_reference_statistics_are_cached(tmp_path, monkeypatch):
    from condgen.data.chem.parallel import Workers
    from condgen.metrics.molecules.reference import reference_statistics

    monkeypatch.setenv("CONDGEN_CACHE", str(tmp_path))
    smiles = _lines("test_ref.smi")[:20]
    with Workers(1) as workers:
        computed = reference_statistics(smiles, "test", workers)
        assert len(list((tmp_path / "moses").glob("*.npz"))) == 1
        loaded = reference_statistics(smiles, "test", workers)
    np.testing.assert_array_equal(loaded.fingerprints, computed.fingerprints)
    np.testing.assert_array_equal(loaded.fcd.sigma, computed.fcd.sigma)
    assert loaded.fragments == computed.fragments and loaded.scaffolds == computed.scaffolds
    np.testing.assert_array_equal(loaded.properties["QED"], computed.properties["QED"])
    with pytest.raises(DataError, match="invalid"), Workers(1) as workers:
        reference_statistics(["CCO", "C1CC"], "test", workers, use_cache=False)


@needs_molsets
def test_all_invalid_input_gives_nan_metrics():
    with pytest.warns(UserWarning, match="no valid molecule"):
        values = moses_metrics(["C1CC", "Xx"], n_jobs=1, test=["CCO", "CCN"], test_scaffolds=["CCO", "CCN"],
                               train=["CCO"])
    assert list(values) == list(MOSES_METRIC_KEYS)
    assert values["valid"] == 0.0 and math.isnan(values["SNN/Test"]) and math.isnan(values["Novelty"])


@needs_molsets
def test_moses_metrics_match_the_original_moses_code():
    """Same inputs as ``moses_reference/compute_reference.py`` gave the original ``get_all_metrics``."""
    record = json.loads((REFERENCE / "reference_values.json").read_text())
    expected = record["values"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unique@k with fewer than k molecules warns, as in MOSES
        ours = moses_metrics(_lines("sample.smi"), n_jobs=2, test=_lines("test_ref.smi"),
                             test_scaffolds=_lines("test_scaffolds_ref.smi"), train=_lines("train_ref.smi"))
    assert list(ours) == list(expected) == list(MOSES_METRIC_KEYS)
    for key, value in expected.items():
        tolerance = 1e-2 if key.startswith("FCD") else 1e-3
        assert ours[key] == pytest.approx(value, abs=tolerance), key
    assert 0.9 < ours["valid"] < 1.0 and ours["Novelty"] < 1.0  # the sample exercises both
