"""A default plugin fit sizes itself by its data: a narrower flow and fewer passes on small sets (issue 11, item 1:
a wide flow trained for hundreds of passes memorised scikit-learn's 1,797 digits)."""

import json

from typer.testing import CliRunner

from condgen.cli import app
from condgen.data import load_dataset
from condgen.models import build_model
from condgen.plugin.plugin import FLOW_STEPS, flow_steps, flow_width
from condgen.train import TrainConfig, train


def test_steps_stop_at_150_passes_and_width_narrows_below_5000_latents():
    assert flow_steps(1000, 256, FLOW_STEPS) == 586  # ceil(150 · 1000 / 256)
    assert flow_steps(1797, 256, 3000) == 1053  # ceil(150 · 1797 / 256)
    assert flow_steps(20000, 256, FLOW_STEPS) == FLOW_STEPS  # 10 passes: the cap does not bind
    assert flow_steps(12, 256, FLOW_STEPS) == 150  # a batch larger than the data is one pass
    assert flow_steps(1797, 256, 500) == 500  # never more than asked
    assert (flow_width(4999), flow_width(5000)) == (32, 256)


def test_plugin_fit_without_steps_records_the_steps_it_took(tmp_path):
    faces = load_dataset("faces", n=64)
    backbone = tmp_path / "vae"
    train(build_model("vae", faces, latent_dim=4, base_channels=8), faces,
          TrainConfig(steps=1, batch_size=16, progress=False, out=backbone))
    plugin = tmp_path / "plugin"
    result = CliRunner().invoke(app, ["plugin", "fit", str(backbone), "--attrs", "smiling", "--out", str(plugin),
                                      "--batch-size", "64"])
    assert result.exit_code == 0, result.output
    record = json.loads((plugin / "fit.json").read_text())
    assert record["spec"]["steps"] == 150  # 150 passes over 64 latents in batches of 64
    config = json.loads((plugin / "config.json").read_text())
    assert config["config"]["hidden"] == 32
