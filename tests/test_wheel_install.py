"""condgen built as a wheel and installed into a fresh virtual environment finds its shipped models.

The wheel is built from a copy of the sources (a stale ``build/`` in the checkout cannot leak in) and
installed with pip into a venv that has no pip and no packages of its own: one ``.pth`` line points it at
this interpreter's site-packages, so torch & co. are reused, not installed again. Directories listed in a
``.pth`` file are added to ``sys.path`` without their own ``.pth`` files being run, so an editable condgen
installed there does not leak in — the test checks that condgen comes from the installed wheel.
"""

import importlib.util
import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import condgen

pytestmark = pytest.mark.slow

REPOSITORY = Path(condgen.__file__).resolve().parents[2]
#: what a wheel is built from
SOURCES = ("pyproject.toml", "setup.py", "README.md", "src", "models")
TIMEOUT = 300


def run(command: list, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=TIMEOUT, **kwargs)
    assert done.returncode == 0, f"{' '.join(map(str, command))} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done


def clean_environment() -> dict[str, str]:
    """This process's environment without anything that would point Python at our sources or models."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "CONDGEN_MODELS")}
    return {**env, "PYTHONNOUSERSITE": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    if not all((REPOSITORY / name).exists() for name in SOURCES):
        pytest.skip(f"condgen is not imported from a source checkout ({REPOSITORY}); no sources to build")
    missing = [name for name in ("pip", "setuptools") if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(f"cannot build a wheel offline: {', '.join(missing)} not installed in {sys.executable}")
    sources = tmp_path_factory.mktemp("sources")
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".*")
    for name in SOURCES:
        if (REPOSITORY / name).is_dir():
            shutil.copytree(REPOSITORY / name, sources / name, ignore=ignore)
        else:
            shutil.copy2(REPOSITORY / name, sources / name)
    out = tmp_path_factory.mktemp("wheel")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "--wheel-dir", out, sources], cwd=sources, env=clean_environment())
    (built,) = out.glob("condgen-*.whl")
    return built


def test_the_wheel_holds_the_package_and_the_shipped_models_and_nothing_else(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    models = sorted(str(p.relative_to(REPOSITORY / "models")) for p in (REPOSITORY / "models").rglob("*")
                    if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith("."))
    assert {"faces-vae/config.json", "faces-vae/model.safetensors", "zinc-vae/backbone/model.safetensors"} <= {
        *models}
    prefix = "condgen/shipped_models/"
    shipped = sorted(n.removeprefix(prefix) for n in names if n.startswith(prefix))
    assert shipped == models  # every file of models/ (a new kind of file needs a glob in pyproject.toml)
    assert "condgen/data/chem/sa_fragment_scores.npz" in names and "condgen/py.typed" in names
    assert "condgen/cli/__init__.py" in names and "condgen/models/vae.py" in names
    outside = sorted(n for n in names if not n.startswith(("condgen/", "condgen-")))
    assert not outside, f"the wheel holds files outside the package: {outside[:10]}"
    other_data = sorted(n for n in names if n.startswith("condgen/") and not n.startswith(prefix)
                        and not n.endswith((".py", "py.typed", "/sa_fragment_scores.npz")))
    assert not other_data, f"unexpected files in the package: {other_data[:10]}"


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A venv (without pip) with the wheel installed; this interpreter's site-packages serve its dependencies."""
    root = tmp_path_factory.mktemp("venv") / "env"
    env = clean_environment()
    run([sys.executable, "-m", "venv", "--without-pip", root], env=env)
    python = root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    # pip runs with this interpreter's pip but installs for the venv's Python (pip >= 22.3).
    run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel], env=env)
    # Only now the dependencies: pip must not see (nor try to replace) a condgen installed here.
    purelib = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                       env=env).stdout.strip())
    ours = dict.fromkeys([*site.getsitepackages(), sysconfig.get_paths()["purelib"]])
    (purelib / "zz_condgen_test_dependencies.pth").write_text("".join(f"{p}\n" for p in ours))
    return root


def test_the_installed_wheel_finds_its_shipped_models(venv, tmp_path):
    python = venv / "bin" / "python"
    probe = ("import json, condgen, condgen.io as io; print(json.dumps({'file': condgen.__file__, "
             "'models': str(io.shipped_models_dir()), 'names': io.shipped_names(), "
             "'name': io.shipped_name(io.shipped_model('zinc-vae'))}))")
    found = json.loads(run([python, "-c", probe], cwd=tmp_path, env=clean_environment()).stdout.strip())
    assert Path(found["file"]).resolve().is_relative_to(venv.resolve()), f"condgen imported from {found['file']}"
    assert Path(found["models"]).resolve().is_relative_to(venv.resolve())
    assert {"faces-vae", "faces-oracle", "faces-labeller", "faces-dcgan", "zinc-vae"} <= set(found["names"])
    assert found["name"] == "zinc-vae"


def test_the_installed_cli_samples_the_shipped_faces_vae_from_another_directory(venv, tmp_path):
    run([venv / "bin" / "condgen", "sample", "faces-vae", "-n", "4", "--out", "x.png"], cwd=tmp_path,
        env=clean_environment())
    image = Image.open(tmp_path / "x.png")
    assert image.format == "PNG" and image.mode == "RGB"
    assert image.size == (140, 140)  # 2 x 2 faces of 32 px with 2 px padding (3 gaps), scaled twice: (2*32 + 3*2) * 2
    assert len(np.unique(np.asarray(image).reshape(-1, 3), axis=0)) > 100  # faces, not a blank canvas
