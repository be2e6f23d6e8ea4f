"""`condgen train realnvp|glow` on tiny faces, then `sample`, `reconstruct` (exact), and `plugin fit`, `generate`,
`edit` over the flow: its 768-d latent (3×16×16) gets the default 256-d projection, stored in the plugin."""

import json
import re

import numpy as np
import pytest
from PIL import Image
from safetensors import safe_open
from typer.testing import CliRunner

from condgen.cli import app

runner = CliRunner()
TINY_FLOW = ["-o", "n_levels=2", "-o", "steps_per_level=1", "-o", "hidden=8"]


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result


@pytest.mark.parametrize("family", ["realnvp", "glow"])
def test_train_sample_reconstruct_and_plugin_on_a_flow(tmp_path, family):
    model = tmp_path / family
    invoke("train", family, "--data", "faces", "-n", "64", "--size", "16", "--out", model, "--steps", "3",
           "--batch-size", "16", "--sample-every", "0", *TINY_FLOW)
    config = json.loads((model / "config.json").read_text())
    assert config["kind"] == family and config["config"]["data_shape"] == [3, 16, 16]

    invoke("sample", model, "-n", "4", "--out", tmp_path / "samples.png")
    with Image.open(tmp_path / "samples.png") as grid:
        assert grid.width >= 2 * 16 and np.asarray(grid).std() > 0
    output = invoke("reconstruct", model, "-n", "3", "--out", tmp_path / "recon.png").output
    error = float(re.search(r"mean absolute error on \[-1, 1\]: ([0-9.e-]+)", output).group(1))
    assert error < 1e-3  # a flow's decode inverts its encode

    plugin = tmp_path / "plugin"
    invoke("plugin", "fit", model, "--attrs", "smiling", "--out", plugin, "--steps", "3", "--batch-size", "32")
    stored = json.loads((plugin / "config.json").read_text())
    assert stored["latent_dim"] == 768 and stored["config"]["projection_dim"] == 256
    with safe_open(plugin / "model.safetensors", "pt") as weights:
        assert list(weights.get_tensor("projection.basis").shape) == [768, 256]
    invoke("generate", plugin, "--set", "smiling=1", "-n", "4", "--out", tmp_path / "generated.png")
    invoke("edit", plugin, "--index", "2", "--set", "smiling=1", "--out", tmp_path / "edited.png")
    with Image.open(tmp_path / "edited.png") as row:
        assert row.width >= 3 * 16  # original, reconstruction, edit

    invoke("plugin", "fit", model, "--attrs", "smiling", "--out", tmp_path / "whole", "--steps", "2",
           "--projection", "0")
    assert json.loads((tmp_path / "whole" / "config.json").read_text())["config"]["projection_dim"] == 0
