"""`condgen train` passes learning-rate schedules, the EMA and per-group learning rates to the engine."""

import csv
import json

import pytest
from typer.testing import CliRunner

from condgen.cli import app
from condgen.errors import ConfigError
from condgen.io import load_tensors

runner = CliRunner()
TINY_VAE = ["train", "vae", "--data", "faces", "-n", "32", "--steps", "4", "--batch-size", "16",
            "--sample-every", "0", "-o", "latent_dim=4", "-o", "base_channels=4"]


def test_schedule_ema_and_group_lr_reach_the_engine(tmp_path):
    out = tmp_path / "vae"
    result = runner.invoke(app, [*TINY_VAE, "--out", str(out), "--lr-schedule", "cosine", "--warmup-steps", "2",
                                 "--min-lr-ratio", "0.1", "--ema-decay", "0.9", "--group-lr", "model=1e-3"])
    assert result.exit_code == 0, (result.output, result.exception)
    with (out / "log.csv").open() as handle:
        lrs = [float(row["model/lr"]) for row in csv.DictReader(handle)]
    assert lrs[-1] == pytest.approx(1e-4)  # the cosine floor (0.1 × 1e-3) at the last step
    state = json.loads((out / "checkpoint" / "state.json").read_text())
    assert state["config"]["ema_decay"] == 0.9 and state["config"]["group_lr"] == {"model": 1e-3}
    saved = load_tensors(out / "checkpoint" / "state.safetensors")
    weights = load_tensors(out / "model.safetensors")
    assert all(weights[k].equal(saved[f"ema/module.{k}"]) for k in weights)  # the artifact holds the EMA


@pytest.mark.parametrize("flags, message", [
    (["--group-lr", "generator=1e-3"], "valid groups: ['model']"),
    (["--group-lr", "model"], "--group-lr expects NAME=VALUE"),
    (["--lr-schedule", "step"], "unknown lr_schedule 'step'"),
])
def test_bad_training_options_are_one_line_errors(tmp_path, flags, message):
    result = runner.invoke(app, [*TINY_VAE, "--out", str(tmp_path / "vae"), *flags])
    assert result.exit_code == 1 and isinstance(result.exception, ConfigError)
    assert message in str(result.exception) and "\n" not in str(result.exception)


@pytest.mark.parametrize("option, message", [
    ("lr=-1", "-o lr=-1: vae needs a positive number there (default: -o lr=0.001)"),
    ("lr=fast", "-o lr=fast: vae needs a positive number there (default: -o lr=0.001)"),
    ("latent_dim=abc", "-o latent_dim=abc: vae needs a positive integer there (default: -o latent_dim=64)"),
])
def test_option_values_of_the_wrong_type_or_sign_are_one_line_errors_naming_the_option(tmp_path, option, message):
    out = tmp_path / "vae"
    result = runner.invoke(app, ["train", "vae", "--data", "faces", "-n", "8", "--steps", "1", "--out", str(out),
                                 "-o", option])
    assert result.exit_code == 1 and isinstance(result.exception, ConfigError)
    assert str(result.exception) == message and not out.exists()
