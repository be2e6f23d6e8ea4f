"""The built-in data sets are listed from a static description that cannot drift from what they build."""

import dataclasses
import os
import subprocess
import sys

import pytest

from condgen.data import faces, registry, shapes
from condgen.data.registry import BUILTIN_DATASETS, load_dataset
from condgen.errors import CondgenError
from condgen.tasks.datasets import describe_datasets


def available(dataset) -> bool:
    try:
        dataset.check_available and dataset.check_available()
    except CondgenError:
        return False
    return True


@pytest.mark.parametrize("name", list(BUILTIN_DATASETS))
def test_the_static_description_is_what_the_set_builds(name):
    described = BUILTIN_DATASETS[name]
    if not available(described):
        pytest.skip(f"{name} cannot be built here")
    built = load_dataset(name, n=64)
    assert built.spec["modality"] == described.modality
    if described.modality == "tables":  # every column is an attribute; the listing names the target only
        assert described.attributes == f"every column; target {built.spec['target']}"
        assert built.schema.names[-1] == built.spec["target"]
    else:
        assert built.schema.describe() == described.attributes
    if described.shape:
        assert tuple(built.example_shape) == described.shape
    default_n = {"faces": faces.DEFAULT_N, "shapes": shapes.DEFAULT_N}
    if name in default_n:  # building 20,000 images takes seconds: their builders' default instead
        assert default_n[name] == described.n
    elif name == "moses":
        from condgen.data.moses import moses_split

        assert len(moses_split("train")) == described.n  # read once already by the build above
    else:
        assert len(load_dataset(name)) == described.n


def test_listing_builds_and_imports_nothing(monkeypatch, tmp_path):
    def refuse(**options):
        raise AssertionError("listing built a data set")

    for name, dataset in list(BUILTIN_DATASETS.items()):
        monkeypatch.setitem(registry.BUILTIN_DATASETS, name, dataclasses.replace(dataset, build=refuse))
    rows = describe_datasets()
    assert [row[0] for row in rows] == list(BUILTIN_DATASETS)
    assert rows[0][:3] == ("faces", "images", "20,000 × 3×32×32") and "smiling (binary)" in rows[0][3]

    # in a fresh process with an empty cache: nothing written, none of the heavy libraries a build needs imported
    cache = tmp_path / "fresh-cache"
    probe = ("import sys; from condgen.cli import app; from typer.testing import CliRunner; "
             "result = CliRunner().invoke(app, ['datasets']); assert result.exit_code == 0, result.output; "
             "print(sorted(m for m in ('sklearn', 'scipy', 'rdkit', 'PIL') if m in sys.modules))")
    listed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "CONDGEN_CACHE": str(cache), "PYTHONPATH": ":".join(sys.path)})
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip() == "[]" and not cache.exists()


def test_an_unavailable_set_says_why_in_place_of_its_attributes(monkeypatch):
    def missing():
        raise CondgenError("needs the molsets package")

    monkeypatch.setitem(registry.BUILTIN_DATASETS, "moses",
                        dataclasses.replace(BUILTIN_DATASETS["moses"], check_available=missing))
    row = dict((row[0], row) for row in describe_datasets())["moses"]
    assert row[3] == "unavailable: needs the molsets package"
