"""`condgen train gmm|kde` then `condgen sample` to .npy, .csv and a .png scatter plot."""

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from condgen.cli import app

runner = CliRunner()


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result


@pytest.mark.parametrize("family, options", [("gmm", ["-o", "max_components=10"]), ("kde", ["-o", "max_points=800"])])
def test_train_and_sample_vectors(tmp_path, family, options):
    model = tmp_path / family
    result = invoke("train", family, "--data", "toy2d-8gaussians", "-n", "1000", "--out", model, *options)
    assert "cross-validation chose" in result.output and "closed form" in result.output
    invoke("sample", model, "-n", "300", "--out", tmp_path / "s.npy", "--seed", "2")
    invoke("sample", model, "-n", "300", "--out", tmp_path / "s.csv", "--seed", "2")
    invoke("sample", model, "-n", "300", "--out", tmp_path / "s.png")
    samples = np.load(tmp_path / "s.npy")
    table = np.loadtxt(tmp_path / "s.csv", delimiter=",", skiprows=1)
    assert samples.shape == (300, 2) and np.allclose(samples, table)
    radius = np.linalg.norm(samples, axis=1)
    assert np.mean(np.abs(radius - 2) < 0.4) > 0.95  # on the ring of radius 2
    with Image.open(tmp_path / "s.png") as image:
        assert image.size == (500, 500) and len(np.unique(np.asarray(image.convert("L")))) > 10


def test_png_is_refused_for_vectors_that_are_not_2d(tmp_path):
    points = np.random.default_rng(0).standard_normal((200, 3))
    np.save(tmp_path / "table.npy", points)
    invoke("train", "gmm", "--data", tmp_path / "table.npy", "--out", tmp_path / "gmm", "-o", "max_components=2")
    result = runner.invoke(app, ["sample", str(tmp_path / "gmm"), "--out", str(tmp_path / "s.png")])
    assert result.exit_code != 0 and "2-D vectors, these have 3" in str(result.exception)
    invoke("sample", tmp_path / "gmm", "-n", "5", "--out", tmp_path / "s.npy")
    assert np.load(tmp_path / "s.npy").shape == (5, 3)
