"""condgen.io: the artifact table, lazy loading, and where the shipped models are found."""

import inspect
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import condgen
from condgen import io
from condgen.errors import ArtifactError

#: Loading a VAE needs none of these; importing them would make `condgen.load` slow and RDKit mandatory.
HEAVY = ("torchmetrics", "rdkit", "condgen.metrics", "condgen.plugin", "diffusers")


def test_loading_a_shipped_vae_imports_no_metrics_chemistry_or_plugin():
    script = textwrap.dedent(f"""
        import json, sys
        import condgen
        condgen.load("faces-vae")
        heavy = {HEAVY!r}
        print(json.dumps(sorted(m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy))))
    """)
    # this interpreter's condgen (a worktree's src/ or the installed one), in a fresh process
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(condgen.__file__).parents[1]),
                                                        os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


@pytest.mark.parametrize("kind", sorted(io.ARTIFACT_KINDS))
def test_every_artifact_kind_is_a_class_of_that_kind_with_from_artifact(kind):
    cls = io.artifact_class(kind)
    assert inspect.isclass(cls)
    assert cls.kind == kind
    assert isinstance(inspect.getattr_static(cls, "from_artifact"), classmethod)


def test_an_unknown_kind_lists_the_known_ones():
    with pytest.raises(ArtifactError, match="known: .*vae"):
        io.artifact_class("no-such-kind")


def fake_models(root: Path, *names: str) -> Path:
    for name in names:
        (root / name).mkdir(parents=True)
        (root / name / io.CONFIG_FILE).write_text("{}")
    return root


def test_shipped_models_are_looked_up_env_then_installed_package_then_checkout(tmp_path, monkeypatch):
    installed, checkout = tmp_path / "site" / "shipped_models", fake_models(tmp_path / "repo" / "models", "b")
    monkeypatch.setattr(io, "INSTALLED_MODELS", installed)
    monkeypatch.setattr(io, "CHECKOUT_MODELS", checkout)
    monkeypatch.delenv("CONDGEN_MODELS", raising=False)
    assert io.shipped_models_dir() == checkout  # no installed folder: a source checkout
    fake_models(installed, "a")
    assert io.shipped_models_dir() == installed
    assert io.shipped_model("a") == installed / "a" and io.shipped_model("b") is None
    assert io.shipped_name(installed / "a") == "a" and io.shipped_name(checkout / "b") is None
    override = fake_models(tmp_path / "mine", "c")
    monkeypatch.setenv("CONDGEN_MODELS", str(override))
    assert io.shipped_models_dir() == override and io.shipped_names() == ["c"]
    assert io.resolve("c") == override / "c"
    with pytest.raises(ArtifactError, match=r"shipped: c\)"):
        io.resolve("a")


def test_the_source_checkout_finds_the_repository_models():
    names = io.shipped_names()
    assert {"faces-vae", "faces-oracle", "faces-labeller", "faces-dcgan", "zinc-vae"} <= set(names)
    assert io.shipped_name(io.shipped_model("faces-vae")) == "faces-vae"
    assert io.shipped_name(Path("models-elsewhere") / "faces-vae") is None


def test_json_is_written_strict_with_null_for_nan_and_infinities(tmp_path):
    path = tmp_path / "report.json"
    io.atomic_write_json(path, {"fcd": float("nan"), "rows": [1.5, float("inf"), (float("-inf"), "a")], "n": 3})

    def refuse(constant):
        raise AssertionError(f"{constant} written")

    assert json.loads(path.read_text(), parse_constant=refuse) == {"fcd": None, "rows": [1.5, None, [None, "a"]],
                                                                   "n": 3}
