"""`condgen train sagan` records the SAGAN recipe in its artifact, then `sample`, `plugin fit` (latents labelled by
a classifier), `generate` and `edit` (through inversion) work as for the other GANs; `reconstruct` refuses."""

import json

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from condgen.cli import app
from condgen.errors import ConfigError

runner = CliRunner()
# 16 px faces: self-attention at the 8x8 maps, few channels.
TINY = ("-o", "latent_dim=8", "-o", "base_channels=8", "-o", "attention=8")


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def test_train_sample_plugin_fit_generate_edit(tmp_path):
    model, classifier, plugin = tmp_path / "sagan", tmp_path / "classifier", tmp_path / "plugin"
    faces = ("--data", "faces", "-n", "64", "--size", "16")
    invoke("train", "sagan", *faces, "--out", model, "--steps", "3", "--batch-size", "16", *TINY)
    config = json.loads((model / "config.json").read_text())["config"]
    assert (config["loss"], config["attention"], config["spectral_norm"]) == ("hinge", 8, "all")
    assert (config["lr"], config["discriminator_lr"]) == (1e-4, 4e-4)

    invoke("sample", model, "-n", "9", "--out", tmp_path / "grid.png", "--seed", "1")
    grid = np.asarray(Image.open(tmp_path / "grid.png"))
    assert grid.shape[0] > 3 * 16 and grid.std() > 0
    refused = runner.invoke(app, ["reconstruct", str(model), "-n", "4", "--out", str(tmp_path / "r.png")])
    assert isinstance(refused.exception, ConfigError) and "has no encoder" in str(refused.exception)

    invoke("classifier", "train", *faces, "--attrs", "smiling", "--steps", "3", "--out", classifier)
    invoke("plugin", "fit", model, "--classifier", classifier, "--attrs", "smiling", "--out", plugin,
           "--steps", "3", "--batch-size", "16", "--n-latents", "32")
    assert json.loads((plugin / "config.json").read_text())["kind"] == "plugin"
    invoke("generate", plugin, "--set", "smiling=1", "-n", "4", "--out", tmp_path / "generated.png")
    invoke("edit", plugin, "--index", "2", "--set", "smiling=1", "--out", tmp_path / "edited.png")
    assert Image.open(tmp_path / "generated.png").width >= 2 * 16
    assert Image.open(tmp_path / "edited.png").width >= 2 * 16
