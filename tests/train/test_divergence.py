"""Divergence beyond NaN: a loss that runs away stops the run with a one-line message naming the flags to
change, keeping the last good checkpoint; a noisy but healthy loss does not."""

import math

import pytest
import torch
from typer.testing import CliRunner

from condgen.cli import app
from condgen.errors import TrainingDivergedError
from condgen.io import load_tensors
from condgen.train import TrainConfig, train
from condgen.train.checkpoint import load_checkpoint
from condgen.train.divergence import RUNAWAY_FACTOR, RunawayLossDetector


def test_a_loss_far_above_the_recent_median_is_flagged_and_kept_out_of_it():
    detector = RunawayLossDetector(window=5)
    assert all(detector.check(loss) is None for loss in (100.0, 120.0, 80.0, 110.0))
    reason = detector.check(1e7)  # over 10⁴ × the median (105)
    assert reason is not None and "1e+07" in reason and "median of the last 4 losses (105)" in reason
    assert list(detector.recent) == [100.0, 120.0, 80.0, 110.0]  # a flagged loss does not join the median


def test_noise_spikes_and_slow_drifts_are_not_divergence():
    detector = RunawayLossDetector(window=10)
    losses = [1e4, 2e7, 1e4]  # a spike of 2000 ×, as a VAE at lr 0.1 shows and recovers from
    losses += [1e4 * 5 ** (k / 10) for k in range(100)]  # grows 5× per 10 losses: the median follows
    assert all(detector.check(loss) is None for loss in losses)


def test_a_converged_small_loss_may_jump_without_being_flagged():
    detector = RunawayLossDetector()
    assert all(detector.check(loss) is None for loss in [1e-5] * 50 + [0.5, 3.0])  # the median counts as ≥ 1
    assert detector.check(2 * RUNAWAY_FACTOR) is not None


def test_magnitudes_count_so_negative_runaways_are_flagged_too():
    detector = RunawayLossDetector()
    assert detector.check(-3.0) is None and detector.check(-2.5) is None
    assert detector.check(-1e9) is not None


@pytest.mark.parametrize("loss", [math.nan, math.inf, -math.inf])
def test_non_finite_losses_are_flagged_from_the_first_one(loss):
    assert "is " in RunawayLossDetector().check(loss)


def test_a_run_whose_loss_runs_away_stops_and_keeps_the_last_good_checkpoint(tmp_path, toys):
    torch.manual_seed(0)
    model = toys.LinearRegressor(scale_at_step=7, loss_scale=1e9)
    config = TrainConfig(steps=20, batch_size=8, checkpoint_every=3, out=tmp_path, progress=False, device="cpu")
    with pytest.raises(TrainingDivergedError) as caught:
        train(model, toys.regression_dataset(), config)
    message = str(caught.value)
    assert "\n" not in message
    for part in ("'model' loss is", "at step 7", f"{tmp_path / 'checkpoint'} keeps the last good checkpoint (step 6)",
                 "-o lr=…, now 0.05", "--steps", "without --resume"):
        assert part in message
    assert load_checkpoint(tmp_path).step == 6
    saved = load_checkpoint(tmp_path).tensors
    assert all(torch.equal(saved[f"model/{k}"], v) for k, v in load_tensors(tmp_path / "model.safetensors").items())


def test_the_cli_at_a_huge_learning_rate_stops_with_exit_1_and_saves_nothing_it_did_not_check(tmp_path):
    out = tmp_path / "vae"
    result = CliRunner().invoke(app, ["train", "vae", "--data", "faces", "-n", "32", "--steps", "30",
                                      "--batch-size", "16", "--sample-every", "0", "--checkpoint-every", "5",
                                      "--device", "cpu", "-o", "latent_dim=4", "-o", "base_channels=4",
                                      "-o", "lr=1e6", "--out", str(out)])
    assert result.exit_code == 1 and isinstance(result.exception, TrainingDivergedError)
    message = str(result.exception)
    assert "training diverged" in message and "at step 1" in message and "now 1e+06" in message
    assert "no checkpoint was written yet, so nothing was saved" in message and "\n" not in message
    assert not (out / "model.safetensors").exists() and not (out / "checkpoint").exists()
