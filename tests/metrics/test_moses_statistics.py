"""MOSES's shipped statistics: faithful to a fresh computation, and a cold start that reads them once."""

import gzip
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rdkit")
pytest.importorskip("fcd_torch")

import condgen.data.moses  # noqa: E402
from condgen.data.chem.parallel import Workers  # noqa: E402
from condgen.errors import DataError  # noqa: E402
from condgen.metrics.molecules import moses_metrics  # noqa: E402
from condgen.metrics.molecules.reference import (  # noqa: E402
    compute_reference_statistics,
    reference_statistics,
)

REFERENCE = Path(__file__).resolve().parent / "moses_reference"


def _lines(name: str) -> list[str]:
    return (REFERENCE / name).read_text().splitlines()


def _shipped_test_statistics():
    try:
        path = condgen.data.moses.moses_statistics_path("test")
    except DataError:
        path = None
    if path is None:
        pytest.skip("pip install --no-deps molsets==0.3.1")
    from condgen.metrics.molecules.shipped_statistics import shipped_statistics_parts

    return shipped_statistics_parts(path)


def test_shipped_statistics_equal_a_fresh_computation_on_a_subsample():
    """Rows of MOSES's file follow the split's order: 200 of them recomputed with the installed RDKit.

    Fragment and scaffold counts are over the whole split, so only their keys are comparable; ChemNet's
    mean and covariance are not comparable on a subsample at all.
    """
    shipped = _shipped_test_statistics()
    test = condgen.data.moses.moses_split("test")
    rows = np.sort(np.random.default_rng(0).choice(len(test), size=200, replace=False))
    with Workers(1) as workers:
        fresh = compute_reference_statistics([test[i] for i in rows], workers)
    assert len(shipped["fingerprints"]) == len(test)
    np.testing.assert_array_equal(fresh.fingerprints, shipped["fingerprints"][rows])
    for name, values in fresh.properties.items():
        np.testing.assert_allclose(values, shipped["properties"][name][rows], atol=1e-9, err_msg=name)
    assert set(fresh.fragments) <= set(shipped["fragments"])
    assert set(fresh.scaffolds) <= set(shipped["scaffolds"])
    assert shipped["fcd"].mu.shape == (512,) and shipped["fcd"].sigma.shape == (512, 512)


def _write_split(path: Path, smiles: list[str]) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("SMILES,SPLIT\n" + "".join(f"{s},x\n" for s in smiles))


def _moses_style_statistics(stats, weight_shift: float) -> dict:
    """condgen statistics in MOSES's layout, without FCD (so that part must be computed) and with the
    molecular weights shifted (so the test sees that the file's values are the ones used)."""
    return {"SNN": {"fps": stats.fingerprints}, "Frag": {"frag": stats.fragments},
            "Scaf": {"scaf": stats.scaffolds},
            **{name: {"values": (values + (weight_shift if name == "weight" else 0.0)).tolist()}
               for name, values in stats.properties.items()}}


@pytest.fixture
def tiny_moses(tmp_path, monkeypatch, write_moses_style_npz):
    """A MOSES data folder of 40 + 40 + 3,000 molecules in place of the wheel's, and an empty cache."""
    test, scaffolds, train = _lines("test_ref.smi")[:40], _lines("test_scaffolds_ref.smi")[:40], _lines("train_ref.smi")
    data = tmp_path / "data"
    data.mkdir()
    for name, smiles in (("test", test), ("test_scaffolds", scaffolds), ("train", train)):
        _write_split(data / f"{name}.csv.gz", smiles)
    with Workers(1) as workers:
        fresh = compute_reference_statistics(test, workers)
    write_moses_style_npz(data / "test_stats.npz", _moses_style_statistics(fresh, weight_shift=10.0))
    monkeypatch.setattr(condgen.data.moses, "moses_data_dir", lambda: data)
    monkeypatch.setenv("CONDGEN_CACHE", str(tmp_path / "cache"))
    condgen.data.moses._read_split.cache_clear()
    yield {"test": test, "test_scaffolds": scaffolds, "train": train, "fresh": fresh}
    condgen.data.moses._read_split.cache_clear()


def test_cold_start_reads_the_shipped_statistics_once_and_computes_only_what_they_lack(
        tiny_moses, tmp_path, progress_console, monkeypatch):
    generated = _lines("sample.smi")[:150]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unique@10000 of 150 molecules
        cold = moses_metrics(generated, n_jobs=1)
        shown = progress_console.export_text()
        assert "test: reading the statistics molsets ships (test_stats.npz" in shown
        assert "test: computing fcd of 40 molecules" in shown
        assert "test_scaffolds: computing fingerprints, fcd, fragments, scaffolds, properties" in shown
        assert "train: hashing the 3,000 MOSES training SMILES" in shown
        assert "generated molecules" in shown and "ChemNet" in shown  # the bars of the per-call work
        assert len(list((tmp_path / "cache" / "moses").glob("reference-test-*.npz"))) == 1

        with Workers(1) as workers:
            loaded = reference_statistics(None, "test", workers)
        np.testing.assert_allclose(loaded.properties["weight"], tiny_moses["fresh"].properties["weight"] + 10.0)
        np.testing.assert_allclose(loaded.fcd.sigma, tiny_moses["fresh"].fcd.sigma, atol=1e-9)

        def no_recomputation(*args, **kwargs):
            raise AssertionError("a warm run read the shipped file or described reference molecules again")

        with monkeypatch.context() as patch:
            patch.setattr("condgen.metrics.molecules.shipped_statistics.shipped_statistics_parts", no_recomputation)
            patch.setattr("condgen.metrics.molecules.reference.describe_reference", no_recomputation)
            warm = moses_metrics(generated, n_jobs=1)
        explicit = moses_metrics(generated, n_jobs=1, test=tiny_moses["test"],
                                 test_scaffolds=tiny_moses["test_scaffolds"], train=tiny_moses["train"],
                                 use_cache=False)
    assert warm == pytest.approx(cold, nan_ok=True)
    for key, value in explicit.items():
        if key != "weight":  # the fixture's shipped weights are shifted on purpose
            assert cold[key] == pytest.approx(value, abs=1e-9, nan_ok=True), key
    assert abs(cold["weight"] - explicit["weight"]) > 1.0 and not math.isnan(cold["Novelty"])
