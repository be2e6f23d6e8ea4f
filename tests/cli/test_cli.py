"""The command line end to end on tiny runs: outputs exist and errors are one line without traceback."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from condgen.cli import app

runner = CliRunner()


def invoke(*args: str):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result


@pytest.fixture(scope="module")
def tiny_vae(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "vae"
    invoke("train", "vae", "--data", "faces", "-n", "96", "--out", out, "--steps", "4", "--batch-size", "16",
           "--sample-every", "2", "-o", "latent_dim=8", "-o", "base_channels=8")
    return out


def test_datasets_lists_builtins_and_attributes():
    output = invoke("datasets").output
    for word in ("faces", "shapes", "toy2d-8gaussians", "smiling", "eyeglasses"):
        assert word in output


def test_train_writes_an_artifact_with_samples(tiny_vae):
    config = json.loads((tiny_vae / "config.json").read_text())
    assert config["kind"] == "vae" and config["config"]["latent_dim"] == 8
    assert config["data"]["name"] == "faces"
    assert (tiny_vae / "model.safetensors").is_file()
    assert list((tiny_vae / "samples").glob("step_*.png"))


def test_sample_and_reconstruct_write_pngs(tiny_vae, tmp_path):
    invoke("sample", tiny_vae, "-n", "9", "--out", tmp_path / "grid.png")
    invoke("reconstruct", tiny_vae, "-n", "4", "--out", tmp_path / "recon.png")
    grid = np.asarray(Image.open(tmp_path / "grid.png"))
    recon = np.asarray(Image.open(tmp_path / "recon.png"))
    assert grid.shape[0] > 3 * 32 and grid.std() > 0
    assert recon.shape[0] > 2 * 32 and recon.shape[1] > 4 * 32


def test_plugin_fit_generate_edit(tiny_vae, tmp_path):
    plugin = tmp_path / "plugin"
    invoke("plugin", "fit", tiny_vae, "--attrs", "smiling,eyeglasses", "--out", plugin, "--steps", "5",
           "--batch-size", "32")
    assert json.loads((plugin / "config.json").read_text())["kind"] == "plugin"
    record = json.loads((plugin / "fit.json").read_text())
    assert record["format"] == 1 and record["spec"]["attributes"] == ["smiling", "eyeglasses"]
    assert record["spec"]["backbone"] == "../../cli0/vae" or not Path(record["spec"]["backbone"]).is_absolute()
    reference = json.loads((plugin / "config.json").read_text())["backbone"]
    assert reference["path"] == record["spec"]["backbone"] and len(reference["sha256"]) == 64
    assert not (plugin / "backbone").exists()  # referred to, not copied
    invoke("generate", plugin, "--set", "smiling=1", "--set", "eyeglasses=no", "-n", "4", "--out", tmp_path / "g.png")
    invoke("edit", plugin, "--index", "3", "--set", "smiling=1", "--set", "eyeglasses=1", "--out", tmp_path / "e.png")
    row = Image.open(tmp_path / "e.png")
    assert row.width > 5 * 32  # original, reconstruction, both edits, each edit alone
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(tmp_path / "face.png")
    invoke("edit", plugin, "--image", tmp_path / "face.png", "--set", "smiling=0", "--out", tmp_path / "e2.png")


def run_cli(*args: str):
    return subprocess.run([sys.executable, "-m", "condgen.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=120)


def test_errors_are_one_line_without_traceback(tiny_vae, tmp_path):
    missing = run_cli("sample", tmp_path / "nothing-here")
    assert missing.returncode == 1
    assert missing.stderr.strip().startswith("error:") and len(missing.stderr.strip().splitlines()) == 1
    assert "Traceback" not in missing.stderr

    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "config.json").write_text("{not json")
    result = run_cli("sample", corrupt)
    assert result.returncode == 1 and "corrupt" in result.stderr and "Traceback" not in result.stderr


def test_unknown_attribute_lists_the_valid_ones(tiny_vae, tmp_path):
    result = runner.invoke(app, ["plugin", "fit", str(tiny_vae), "--attrs", "smile", "--out", str(tmp_path / "p")])
    assert result.exit_code != 0
    assert "unknown attribute 'smile'" in str(result.exception) and "smiling" in str(result.exception)


def test_wrong_image_size_is_a_clear_error(tiny_vae, tmp_path):
    invoke("plugin", "fit", tiny_vae, "--attrs", "smiling", "--out", tmp_path / "p", "--steps", "2")
    Image.fromarray(np.zeros((20, 24, 3), np.uint8)).save(tmp_path / "small.png")
    result = run_cli("edit", tmp_path / "p", "--image", tmp_path / "small.png", "--set", "smiling=1")
    assert result.returncode == 1
    assert "24x20" in result.stderr and "32x32" in result.stderr and "Traceback" not in result.stderr


def test_plugin_calibrate_measures_an_image_plugin_with_a_classifier(tiny_vae, tmp_path):
    plugin, classifier = tmp_path / "plugin", tmp_path / "clf"
    invoke("plugin", "fit", tiny_vae, "--attrs", "yaw,smiling", "--out", plugin, "--steps", "5", "--batch-size", "32")
    assert json.loads((plugin / "config.json").read_text())["calibration"] == {}  # image plugins: only on request
    result = runner.invoke(app, ["plugin", "calibrate", str(plugin)])
    assert result.exit_code == 1 and "--classifier" in str(result.exception)
    invoke("classifier", "train", "--data", "faces", "-n", "96", "--attrs", "yaw,smiling", "--steps", "5",
           "--out", classifier)
    invoke("plugin", "calibrate", plugin, "--classifier", classifier, "--per-point", "16", "--points", "4")
    calibration = json.loads((plugin / "config.json").read_text())["calibration"]
    assert list(calibration) == ["yaw"]  # smiling is binary: nothing to calibrate
    assert len(calibration["yaw"]["condition"]) == 4
    assert calibration["yaw"]["response"] == sorted(calibration["yaw"]["response"])
    invoke("generate", plugin, "--set", "yaw=0.5", "-n", "4", "--out", tmp_path / "g.png")


def test_warnings_on_the_command_line_are_one_line():
    result = run_cli("mol", "sample", "zinc-vae", "--target", "sas=1.0", "-n", "2", "--out", "/dev/null")
    assert result.returncode == 0, result.stderr
    assert "warning: sas=1 lies outside what the model reaches" in result.stderr + result.stdout
    assert "UserWarning" not in result.stderr
