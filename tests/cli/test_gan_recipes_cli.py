"""The GAN recipes that build their own networks through the CLI: `condgen train sagan` records the SAGAN
recipe in its artifact; `condgen train progan` on tiny faces grows to their size. Then `sample`, `plugin fit`
(latents labelled by a classifier), `generate` and `edit` (through inversion) work as for the other GANs, and
`reconstruct` refuses (no encoder)."""

import json

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from condgen.cli import app
from condgen.errors import ConfigError

runner = CliRunner()
FACES = ("--data", "faces", "-n", "64", "--size", "16")
#: 16 px faces: 4×4 at step 0, 8×8 fading in at step 1, stable at 2, 16×16 fading in at 3, stable from 4 on.
TINY_PROGAN = ("-o", "latent_dim=8", "-o", "channel_base=32", "-o", "max_channels=8", "-o", "fade_steps=1",
               "-o", "stable_steps=1")
#: 16 px faces: self-attention at the 8x8 maps, few channels.
TINY_SAGAN = ("-o", "latent_dim=8", "-o", "base_channels=8", "-o", "attention=8")


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def sample_refuse_reconstruction_and_carry_a_plugin(model, tmp_path) -> None:
    classifier, plugin = tmp_path / "classifier", tmp_path / "plugin"
    invoke("sample", model, "-n", "9", "--out", tmp_path / "grid.png", "--seed", "1")
    grid = np.asarray(Image.open(tmp_path / "grid.png"))
    assert grid.shape[0] > 3 * 16 and grid.std() > 0
    refused = runner.invoke(app, ["reconstruct", str(model), "-n", "4", "--out", str(tmp_path / "r.png")])
    assert isinstance(refused.exception, ConfigError) and "has no encoder" in str(refused.exception)

    invoke("classifier", "train", *FACES, "--attrs", "smiling", "--steps", "3", "--out", classifier)
    invoke("plugin", "fit", model, "--classifier", classifier, "--attrs", "smiling", "--out", plugin,
           "--steps", "3", "--batch-size", "16", "--n-latents", "32")
    assert json.loads((plugin / "config.json").read_text())["kind"] == "plugin"
    invoke("generate", plugin, "--set", "smiling=1", "-n", "4", "--out", tmp_path / "generated.png")
    invoke("edit", plugin, "--index", "2", "--set", "smiling=1", "--out", tmp_path / "edited.png")
    assert Image.open(tmp_path / "generated.png").width >= 2 * 16
    assert Image.open(tmp_path / "edited.png").width >= 2 * 16


def test_progan_grows_then_samples_and_carries_a_plugin(tmp_path):
    model = tmp_path / "progan"
    invoke("train", "progan", *FACES, "--out", model, "--steps", "5", "--batch-size", "16", "--sample-every", "5",
           *TINY_PROGAN)
    config = json.loads((model / "config.json").read_text())
    assert config["kind"] == "progan" and config["config"]["data_shape"] == [3, 16, 16]
    assert config["growth"] == {"steps_trained": 5, "resolution": 16, "alpha": 1.0}
    assert (model / "samples" / "step_000005.png").is_file()
    header, *rows = (model / "log.csv").read_text().splitlines()
    last = dict(zip(header.split(","), rows[-1].split(","), strict=True))
    # logged values are means over the logging window: here all 5 steps, at sides 4, 8, 8, 16, 16
    assert float(last["step"]) == 5 and float(last["discriminator/resolution"]) == (4 + 8 + 8 + 16 + 16) / 5
    sample_refuse_reconstruction_and_carry_a_plugin(model, tmp_path)


def test_sagan_records_its_recipe_then_samples_and_carries_a_plugin(tmp_path):
    model = tmp_path / "sagan"
    invoke("train", "sagan", *FACES, "--out", model, "--steps", "3", "--batch-size", "16", *TINY_SAGAN)
    config = json.loads((model / "config.json").read_text())["config"]
    assert (config["loss"], config["attention"], config["spectral_norm"]) == ("hinge", 8, "all")
    assert (config["lr"], config["discriminator_lr"]) == (1e-4, 4e-4)
    sample_refuse_reconstruction_and_carry_a_plugin(model, tmp_path)
