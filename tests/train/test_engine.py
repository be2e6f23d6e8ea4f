"""The training loop: learning, schedules, group isolation, clipping, logs, samples, resume, NaN."""

import csv
import json
import logging

import pytest
import torch

from condgen.errors import ConfigError, TrainingDivergedError
from condgen.io import load_tensors
from condgen.train import TrainConfig, select_device, train
from condgen.train.checkpoint import load_checkpoint


def quiet(**values) -> TrainConfig:
    return TrainConfig(progress=False, device="cpu", **values)


def test_linear_regressor_recovers_the_true_weights(toys):
    torch.manual_seed(0)
    model = toys.LinearRegressor()
    result = train(model, toys.regression_dataset(), quiet(steps=150, batch_size=32, log_every=50))
    assert result.model is model and result.steps_done == 150 and result.out is None
    assert [row["step"] for row in result.history] == [50, 100, 150]
    assert result.history[-1]["model/loss"] < 1e-3 < result.history[0]["model/loss"]
    assert torch.allclose(model.linear.weight[0], toys.TRUE_WEIGHTS, atol=0.02)
    assert abs(float(model.linear.bias.detach()) - toys.TRUE_BIAS) < 0.02
    assert not model.training  # handed back in eval mode


def test_schedule_order_repeats_and_hooks(toys):
    model = toys.TwoGroupToy()
    train(model, toys.regression_dataset(n=40), quiet(steps=2, batch_size=16))
    one_step = ["critic:loss:16", "critic:after"] * 2 + ["generator:loss:16", "generator:after"]
    assert model.calls == ["progress:0", *one_step, "progress:1", *one_step]


def test_each_optimiser_changes_only_its_own_group(toys):
    for group in ("critic", "generator"):
        model = toys.TwoGroupToy()
        model.step_schedule = lambda group=group: [(group, 3)]
        before = {k: v.clone() for k, v in model.state_dict().items()}
        train(model, toys.regression_dataset(n=40), quiet(steps=2, batch_size=16))
        after = model.state_dict()
        for key in before:
            changed = not torch.equal(before[key], after[key])
            assert changed == key.startswith(group), f"{key} after training only {group!r}"


def test_gradients_of_another_groups_loss_never_leak(toys):
    """The generator's loss gives the critic's bias a gradient of −100; the critic's own steps
    must move it exactly as its own loss alone would (towards 5, by Adam with lr 0.1).
    """
    model = toys.TwoGroupToy(toys.TwoGroupConfig(critic_lr=0.1))
    model.step_schedule = lambda: [("generator", 1), ("critic", 1)]
    original_loss = model.compute_loss

    def loss(group, batch):
        if group == "generator":  # d/d(critic.bias) = -100: would flip the critic's step if leaked
            return -100.0 * model.critic(model.generator(batch.x)).mean(), {}
        return (model.critic.bias - 5.0).pow(2).sum() + 0 * original_loss(group, batch)[0], {}

    stale_generator_grads = []

    def after(group):  # the critic's step must see no gradients left over from the generator's loss
        if group == "critic":
            stale_generator_grads.extend(p.grad for p in model.generator.parameters() if p.grad is not None)

    model.compute_loss, model.after_optimizer_step = loss, after
    alone = torch.nn.Parameter(model.critic.bias.detach().clone())  # the critic's loss alone, by hand
    reference = torch.optim.Adam([alone], lr=0.1, betas=(0.5, 0.999))
    for _ in range(2):
        reference.zero_grad()
        (alone - 5.0).pow(2).sum().backward()
        reference.step()
    train(model, toys.regression_dataset(n=40), quiet(steps=2, batch_size=16))
    assert torch.allclose(model.critic.bias.detach(), alone.detach(), atol=1e-6)
    assert stale_generator_grads == []


def test_grad_clip_bounds_the_gradient_norm(toys):
    config = toys.LinearConfig(lr=1e-3, grad_clip=0.5)
    model = toys.LinearRegressor(config)
    data = toys.regression_dataset()
    data.attributes = data.attributes * 100  # large targets → large gradients
    train(model, data, quiet(steps=5, batch_size=32))
    assert max(model.grad_norms) == pytest.approx(0.5, rel=1e-4)
    unclipped = toys.LinearRegressor(toys.LinearConfig(lr=1e-3))
    train(unclipped, data, quiet(steps=5, batch_size=32))
    assert min(unclipped.grad_norms) > 50


def test_csv_log_and_artifact_are_written(tmp_path, toys):
    model = toys.TwoGroupToy()
    result = train(model, toys.regression_dataset(n=40), quiet(steps=6, batch_size=8, log_every=3, out=tmp_path))
    with (tmp_path / "log.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["step"]) for r in rows] == [3, 6]
    assert set(rows[0]) == {"step", "critic/loss", "critic/score", "critic/lr",
                            "generator/loss", "generator/score", "generator/lr"}
    assert float(rows[1]["critic/loss"]) == pytest.approx(result.history[1]["critic/loss"])
    assert float(rows[1]["critic/lr"]) == float(rows[1]["generator/lr"]) == 1e-2  # the toy's constant lr
    assert json.loads((tmp_path / "checkpoint" / "state.json").read_text())["step"] == 6
    saved = load_tensors(tmp_path / "model.safetensors")
    assert all(torch.equal(saved[k], v) for k, v in model.state_dict().items())


def test_sample_grids_are_saved_for_image_models(tmp_path, toys):
    from PIL import Image

    train(toys.TinyImageModel(), toys.image_dataset(),
          quiet(steps=4, batch_size=8, sample_every=2, sample_n=9, out=tmp_path))
    grids = sorted(p.name for p in (tmp_path / "samples").iterdir())
    assert grids == ["step_000002.png", "step_000004.png"]
    # 3×3 grid of 4×4 images, 2 px padding, scaled ×2
    assert Image.open(tmp_path / "samples" / grids[0]).size == (2 * (3 * 6 + 2),) * 2


def test_conditional_models_sample_with_the_data_sets_first_attribute_rows(tmp_path, toys):
    seen = []

    class Conditional(toys.TinyImageModel):
        is_conditional = True

        def decode(self, z, *, attributes=None, generator=None):
            seen.append(attributes)
            return super().decode(z)

    data = toys.image_dataset(n=16)
    train(Conditional(), data, quiet(steps=1, batch_size=8, sample_every=1, sample_n=64, out=tmp_path))
    sampled = [a for a in seen if a is not None]
    assert len(sampled) == 1 and torch.equal(sampled[0], data.attributes)  # sample_n clamped to 16 rows
    assert (tmp_path / "samples" / "step_000001.png").is_file()


def test_sampling_does_not_change_the_training_trajectory(tmp_path, toys):
    runs = []
    for every in (0, 1):
        torch.manual_seed(0)
        model = toys.TinyImageModel()
        train(model, toys.image_dataset(), quiet(steps=3, batch_size=8, sample_every=every, out=tmp_path / str(every)))
        runs.append(model.state_dict())
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])


def _train_interrupted_then_resumed(toys, out, steps, kill_at, **settings):
    torch.manual_seed(1)
    first = toys.TwoGroupToy(crash_at_step=kill_at)
    with pytest.raises(toys.SimulatedKill):
        train(first, toys.regression_dataset(n=40), quiet(steps=steps, batch_size=16, checkpoint_every=kill_at - 1,
                                                          log_every=1, out=out, **settings))
    torch.manual_seed(123)  # a fresh model object with different initial weights
    resumed = toys.TwoGroupToy()
    return resumed, train(resumed, toys.regression_dataset(n=40),
                          quiet(steps=steps, batch_size=16, checkpoint_every=kill_at - 1, log_every=1,
                                out=out, resume=True, **settings))


def test_resumed_run_is_bit_identical_to_an_uninterrupted_one(tmp_path, toys):
    torch.manual_seed(1)
    reference = toys.TwoGroupToy()
    expected = train(reference, toys.regression_dataset(n=40),
                     quiet(steps=10, batch_size=16, log_every=1, out=tmp_path / "straight"))
    # killed during step 6 (after the checkpoint at 5); 40 rows / 16 crosses epochs every 2 batches
    resumed, result = _train_interrupted_then_resumed(toys, tmp_path / "resumed", steps=10, kill_at=6)
    assert result.steps_done == 10
    want, got = reference.state_dict(), resumed.state_dict()
    assert all(torch.equal(want[k], got[k]) for k in want)
    # the log after resuming holds each step once, with the same values
    assert [row["step"] for row in result.history] == list(range(1, 11))
    assert result.history == expected.history


def test_resume_with_a_schedule_and_ema_is_bit_identical_to_an_uninterrupted_one(tmp_path, toys):
    settings = {"lr_schedule": "cosine", "warmup_steps": 3, "min_lr_ratio": 0.1, "ema_decay": 0.9,
                "group_lr": {"generator": 5e-3}, "group_betas": {"critic": (0.0, 0.9)}}
    torch.manual_seed(1)
    reference = toys.TwoGroupToy()
    expected = train(reference, toys.regression_dataset(n=40),
                     quiet(steps=10, batch_size=16, log_every=1, out=tmp_path / "straight", **settings))
    resumed, result = _train_interrupted_then_resumed(toys, tmp_path / "resumed", steps=10, kill_at=6, **settings)
    # the models handed back hold the EMA weights; the checkpoints hold raw + EMA weights, optimiser
    # moments, RNG and sampler states: every tensor must agree, as must the scheduler states
    want, got = reference.state_dict(), resumed.state_dict()
    assert all(torch.equal(want[k], got[k]) for k in want)
    straight, again = load_checkpoint(tmp_path / "straight"), load_checkpoint(tmp_path / "resumed")
    assert any(k.startswith("ema/") for k in straight.tensors) and set(straight.tensors) == set(again.tensors)
    assert all(torch.equal(straight.tensors[k], again.tensors[k]) for k in straight.tensors)
    assert straight.meta["schedulers"] == again.meta["schedulers"]
    assert result.history == expected.history  # the lr columns included
    assert result.history[-1]["generator/lr"] == pytest.approx(0.1 * 5e-3)


@pytest.mark.parametrize("changed, mentioned", [
    ({"lr_schedule": "constant", "warmup_steps": 0}, "--lr-schedule warmup (saved) vs constant (now); "
                                                     "--warmup-steps 2 (saved) vs 0 (now)"),
    ({"ema_decay": 0.99}, "--ema-decay none (saved) vs 0.99 (now)"),
    ({"group_lr": {"model": 0.01}}, "--group-lr none (saved) vs model=0.01 (now)"),
    ({"batch_size": 4}, "--batch-size 8 (saved) vs 4 (now)"),
])
def test_resuming_with_other_run_settings_is_a_one_line_config_error(tmp_path, toys, changed, mentioned):
    settings = {"lr_schedule": "warmup", "warmup_steps": 2, "batch_size": 8}
    train(toys.LinearRegressor(), toys.regression_dataset(), quiet(steps=3, out=tmp_path, **settings))
    with pytest.raises(ConfigError) as caught:
        train(toys.LinearRegressor(), toys.regression_dataset(),
              quiet(steps=6, out=tmp_path, resume=True, **{**settings, **changed}))
    message = str(caught.value)
    assert mentioned in message and "without --resume" in message and "\n" not in message


def test_a_cosine_run_resumes_only_to_the_same_number_of_steps(tmp_path, toys):
    settings = {"lr_schedule": "cosine", "warmup_steps": 1, "batch_size": 8, "out": tmp_path}
    train(toys.LinearRegressor(), toys.regression_dataset(), quiet(steps=4, **settings))
    with pytest.raises(ConfigError, match=r"--steps 4 \(saved\) vs 8 \(now\)"):
        train(toys.LinearRegressor(), toys.regression_dataset(), quiet(steps=8, resume=True, **settings))


def test_resume_without_a_checkpoint_starts_fresh_and_says_so(tmp_path, toys, caplog):
    with caplog.at_level(logging.WARNING, logger="condgen.train"):
        result = train(toys.LinearRegressor(), toys.regression_dataset(),
                       quiet(steps=3, batch_size=8, out=tmp_path, resume=True))
    assert result.steps_done == 3 and "starting a fresh run" in caplog.text
    assert load_checkpoint(tmp_path).step == 3


def test_resume_after_the_last_step_continues_to_more_steps(tmp_path, toys):
    model = toys.LinearRegressor()
    train(model, toys.regression_dataset(), quiet(steps=4, batch_size=8, log_every=2, out=tmp_path))
    result = train(model, toys.regression_dataset(), quiet(steps=8, batch_size=8, log_every=2, out=tmp_path,
                                                           resume=True))
    assert [row["step"] for row in result.history] == [2, 4, 6, 8]
    assert load_checkpoint(tmp_path).step == 8


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, toys):
    model = toys.LinearRegressor(nan_at_step=7)
    with pytest.raises(TrainingDivergedError) as caught:
        train(model, toys.regression_dataset(), quiet(steps=20, batch_size=8, checkpoint_every=3, out=tmp_path))
    message = str(caught.value)
    assert "\n" not in message
    for part in ("'model'", "nan", "step 7", str(tmp_path / "checkpoint"), "(step 6)", "lower the learning rate",
                 "-o lr=…", "--steps"):
        assert part in message
    saved = load_checkpoint(tmp_path)
    assert saved.step == 6
    assert all(torch.isfinite(v).all() for k, v in saved.tensors.items() if k.startswith("model/"))
    assert all(torch.isfinite(v).all() for v in load_tensors(tmp_path / "model.safetensors").values())


def test_nan_before_any_checkpoint_says_none_was_written(toys):
    with pytest.raises(TrainingDivergedError, match="no checkpoint was written"):
        train(toys.LinearRegressor(nan_at_step=0), toys.regression_dataset(), quiet(steps=3))


def test_invalid_settings_are_config_errors(tmp_path, toys):
    with pytest.raises(ConfigError, match="resume=True needs out="):
        TrainConfig(steps=3, resume=True)
    with pytest.raises(ConfigError, match="--batch-size ≥ 1"):
        TrainConfig(steps=3, batch_size=0)
    model = toys.TwoGroupToy()
    model.step_schedule = lambda: [("discriminator", 1)]
    with pytest.raises(ConfigError, match="discriminator"):
        train(model, toys.regression_dataset(), quiet(steps=1))
    with pytest.raises(ConfigError, match="not a device"):
        select_device("tpu:banana")


def test_tensorboard_needs_the_package(tmp_path, toys):
    pytest.importorskip("torch.utils.tensorboard", reason="tensorboard installed; the error cannot occur")
    result = train(toys.LinearRegressor(), toys.regression_dataset(),
                   quiet(steps=2, out=tmp_path, tensorboard=True))
    assert any((tmp_path / "tensorboard").iterdir()) and result.steps_done == 2


def test_tensorboard_missing_is_a_clear_error(tmp_path, toys):
    try:
        import tensorboard  # noqa: F401
        pytest.skip("tensorboard is installed")
    except ImportError:
        pass
    with pytest.raises(ConfigError, match=r"pip install 'condgen\[tensorboard\]'"):
        train(toys.LinearRegressor(), toys.regression_dataset(), quiet(steps=2, out=tmp_path, tensorboard=True))


def test_auto_device_is_usable():
    assert torch.zeros(1, device=select_device("auto")).device.type in {"cpu", "cuda", "mps"}
    assert select_device("cpu") == torch.device("cpu")
