"""`condgen train` is reproducible: the same command gives the same bytes, a run killed with SIGKILL and resumed
gives the weights of an uninterrupted one, `--resume` with other options refuses without writing, and
`--steps 0` saves the initial model."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import torch
from typer.testing import CliRunner

from condgen.cli import app
from condgen.data import load_dataset
from condgen.errors import ConfigError
from condgen.io import load, load_tensors
from condgen.models.factory import build_model
from condgen.train.seeding import seed_everything

runner = CliRunner()
STEPS = 40


def train_args(steps: int = STEPS) -> list[str]:
    """A tiny VAE on 32 faces, checkpointed every step."""
    return ["train", "vae", "--data", "faces", "-n", "32", "--steps", str(steps), "--batch-size", "16",
            "--sample-every", "0", "--checkpoint-every", "1", "--device", "cpu", "--seed", "3",
            "-o", "latent_dim=4", "-o", "base_channels=4"]


def condgen(*args):
    result = runner.invoke(app, [*map(str, args)])
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def committed_step(out) -> int:
    """The step of ``out``'s committed checkpoint, 0 while there is none."""
    try:
        return int(re.search(r'"step": (\d+)', (out / "checkpoint" / "state.json").read_text()).group(1))
    except (OSError, AttributeError):
        return 0


def killed_after_a_checkpoint(out) -> int:
    """Run the training command in a process and SIGKILL it as soon as a checkpoint exists; the step of the
    checkpoint it left."""
    process = subprocess.Popen([sys.executable, "-m", "condgen.cli", *train_args(), "--out", str(out)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while committed_step(out) < 1 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    return committed_step(out)


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """An uninterrupted run of :func:`train_args`."""
    out = tmp_path_factory.mktemp("straight") / "vae"
    condgen(*train_args(), "--out", out)
    return out


def test_the_same_command_twice_gives_the_same_bytes(straight, tmp_path):
    again = tmp_path / "again"
    condgen(*train_args(), "--out", again)
    for name in ("model.safetensors", "config.json", "log.csv", "checkpoint/state.safetensors"):
        assert (straight / name).read_bytes() == (again / name).read_bytes(), name


def test_a_run_killed_with_sigkill_and_resumed_gives_the_weights_of_an_uninterrupted_one(straight, tmp_path):
    killed = tmp_path / "killed"
    assert 1 <= killed_after_a_checkpoint(killed) < STEPS
    resumed = subprocess.run([sys.executable, "-m", "condgen.cli", *train_args(), "--out", str(killed), "--resume"],
                             capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    step = int(re.search(rf"^resuming from step (\d+) of {re.escape(str(killed / 'checkpoint'))}$",
                         resumed.stderr, re.MULTILINE).group(1))
    assert 1 <= step < STEPS
    assert (killed / "model.safetensors").read_bytes() == (straight / "model.safetensors").read_bytes()
    want, got = load_tensors(straight / "checkpoint" / "state.safetensors"), \
        load_tensors(killed / "checkpoint" / "state.safetensors")
    assert set(want) == set(got) and all(torch.equal(want[k], got[k]) for k in want)  # optimiser and RNG too


def test_resume_with_another_option_refuses_in_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "vae"
    condgen(*train_args(4), "--out", out)
    before = {path: path.read_bytes() for path in out.rglob("*") if path.is_file()}
    result = runner.invoke(app, [*train_args(4), "--out", str(out), "--resume", "-o", "lr=1e12"])
    assert result.exit_code == 1 and isinstance(result.exception, ConfigError)
    message = str(result.exception)
    assert "-o lr 0.001 (saved) vs 1e+12 (now)" in message and "\n" not in message
    assert {path: path.read_bytes() for path in out.rglob("*") if path.is_file()} == before


def test_a_recipe_that_changes_an_option_part_way_resumes_with_change_options(tmp_path):
    out = tmp_path / "vae"
    condgen(*train_args(4), "--out", out)
    condgen(*train_args(6), "--out", out, "--resume", "--change-options", "-o", "beta=2")
    record = json.loads((out / "config.json").read_text())
    assert record["config"]["beta"] == 2 and record["option_changes"] == [{"step": 4, "options": {"beta": [1.0, 2.0]}}]


def test_zero_steps_saves_the_initial_model(tmp_path):
    out = tmp_path / "vae"
    result = condgen(*train_args(0), "--out", out)
    assert "after 0 steps" in result.output
    seed_everything(3)
    initial = build_model("vae", load_dataset("faces", n=32, seed=3), latent_dim=4, base_channels=4).state_dict()
    saved = load(out).state_dict()
    assert set(saved) == set(initial) and all(torch.equal(saved[k], initial[k]) for k in initial)
    assert (out / "checkpoint" / "state.json").is_file()
