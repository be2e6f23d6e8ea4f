"""`condgen train progan` on tiny faces grows to their size, then `sample`, `plugin fit` (latents labelled by a
classifier), `generate` and `edit` (through inversion) work as for the other GANs."""

import json

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from condgen.cli import app

runner = CliRunner()
#: 16 px faces: 4×4 at step 0, 8×8 fading in at step 1, stable at 2, 16×16 fading in at 3, stable from 4 on.
TINY = ("-o", "latent_dim=8", "-o", "channel_base=32", "-o", "max_channels=8", "-o", "fade_steps=1",
        "-o", "stable_steps=1")


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def test_train_sample_plugin_fit_generate_edit(tmp_path):
    model, classifier, plugin = tmp_path / "progan", tmp_path / "classifier", tmp_path / "plugin"
    faces = ("--data", "faces", "-n", "64", "--size", "16")
    invoke("train", "progan", *faces, "--out", model, "--steps", "5", "--batch-size", "16", "--sample-every", "5",
           *TINY)
    config = json.loads((model / "config.json").read_text())
    assert config["kind"] == "progan" and config["config"]["data_shape"] == [3, 16, 16]
    assert config["growth"] == {"steps_trained": 5, "resolution": 16, "alpha": 1.0}
    assert (model / "samples" / "step_000005.png").is_file()
    header, *rows = (model / "log.csv").read_text().splitlines()
    last = dict(zip(header.split(","), rows[-1].split(","), strict=True))
    # logged values are means over the logging window: here all 5 steps, at sides 4, 8, 8, 16, 16
    assert float(last["step"]) == 5 and float(last["discriminator/resolution"]) == (4 + 8 + 8 + 16 + 16) / 5

    invoke("sample", model, "-n", "9", "--out", tmp_path / "grid.png", "--seed", "1")
    grid = np.asarray(Image.open(tmp_path / "grid.png"))
    assert grid.shape[0] > 3 * 16 and grid.std() > 0

    invoke("classifier", "train", *faces, "--attrs", "smiling", "--steps", "3", "--out", classifier)
    invoke("plugin", "fit", model, "--classifier", classifier, "--attrs", "smiling", "--out", plugin,
           "--steps", "3", "--batch-size", "16", "--n-latents", "32")
    assert json.loads((plugin / "config.json").read_text())["kind"] == "plugin"
    invoke("generate", plugin, "--set", "smiling=1", "-n", "4", "--out", tmp_path / "generated.png")
    invoke("edit", plugin, "--index", "2", "--set", "smiling=1", "--out", tmp_path / "edited.png")
    assert Image.open(tmp_path / "generated.png").width >= 2 * 16
    assert Image.open(tmp_path / "edited.png").width >= 2 * 16
