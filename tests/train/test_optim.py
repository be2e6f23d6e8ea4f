"""Learning-rate schedules and per-group optimiser settings: the lr every optimiser step really used."""

import csv
import math

import numpy as np
import pytest
import torch

from condgen.errors import ConfigError
from condgen.models.base import Batch
from condgen.train import TrainConfig, train
from condgen.train.optim import lr_factor
from condgen.train.sampler import BatchSampler


def quiet(**values) -> TrainConfig:
    return TrainConfig(progress=False, device="cpu", **values)


@pytest.fixture
def adam_steps(monkeypatch):
    """``[(first parameter, lr, betas), …]`` for every ``Adam.step()``: the values that update used."""
    calls = []
    original = torch.optim.Adam.step

    def spy(self, *args, **kwargs):
        group = self.param_groups[0]
        calls.append((group["params"][0], group["lr"], tuple(group["betas"])))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", spy)
    return calls


def of(calls, parameter):
    return [(lr, betas) for first, lr, betas in calls if first is parameter]


def test_lr_factor_follows_the_documented_formulas():
    assert [lr_factor("constant", 0, 5)(s) for s in range(5)] == [1.0] * 5
    assert [lr_factor("warmup", 4, 6)(s) for s in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    cosine = lr_factor("cosine", 0, 5, min_lr_ratio=0.2)
    assert [cosine(s) for s in range(5)] == pytest.approx([1.0, 0.2 + 0.8 * (1 + math.cos(math.pi / 4)) / 2, 0.6,
                                                           0.2 + 0.8 * (1 + math.cos(3 * math.pi / 4)) / 2, 0.2])


def test_warmup_starts_near_zero_and_reaches_the_base_lr_at_its_end(tmp_path, toys, adam_steps):
    model = toys.LinearRegressor()  # lr 0.05
    result = train(model, toys.regression_dataset(),
                   quiet(steps=6, batch_size=32, lr_schedule="warmup", warmup_steps=4, log_every=1, out=tmp_path))
    used = [lr for lr, _ in of(adam_steps, model.linear.weight)]
    assert used == pytest.approx([0.0125, 0.025, 0.0375, 0.05, 0.05, 0.05], rel=1e-12)
    assert used[0] <= 0.25 * 0.05 and used[3] == 0.05
    # the log shows the lr each step used
    assert [row["model/lr"] for row in result.history] == used
    with (tmp_path / "log.csv").open() as handle:
        assert [float(row["model/lr"]) for row in csv.DictReader(handle)] == used


def test_cosine_decays_each_group_from_its_own_base_lr_to_the_floor(toys, adam_steps):
    model = toys.TwoGroupToy()  # critic ×2 then generator ×1 per engine step
    steps, warmup, floor = 10, 2, 0.1
    base = {"critic": 1e-2, "generator": 4e-3}
    train(model, toys.regression_dataset(n=40),
          quiet(steps=steps, batch_size=8, lr_schedule="cosine", warmup_steps=warmup, min_lr_ratio=floor,
                group_lr={"generator": base["generator"]}))

    def expected(s):
        if s < warmup:
            return (s + 1) / warmup
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * (s - warmup) / (steps - 1 - warmup)))

    critic = [lr for lr, _ in of(adam_steps, model.critic.weight)]
    generator = [lr for lr, _ in of(adam_steps, model.generator.weight)]
    assert critic == pytest.approx([base["critic"] * expected(s) for s in range(steps) for _ in range(2)], rel=1e-12)
    assert generator == pytest.approx([base["generator"] * expected(s) for s in range(steps)], rel=1e-12)
    assert generator[warmup - 1] == generator[warmup] == base["generator"]  # peak at the end of warm-up
    assert critic[-1] == pytest.approx(floor * base["critic"], rel=1e-12)  # the floor at the last step
    assert generator[-1] == pytest.approx(floor * base["generator"], rel=1e-12)
    assert all(a > b for a, b in zip(generator[warmup:-1], generator[warmup + 1:], strict=True))

    # the same curve as torch's own CosineAnnealingLR over the decay part
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=base["generator"])
    annealing = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps - 1 - warmup, floor * base["generator"])
    reference = []
    for _ in range(steps - warmup):
        reference.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        annealing.step()
    assert generator[warmup:] == pytest.approx(reference, rel=1e-9)


def test_group_lr_and_betas_change_only_the_named_group(toys, adam_steps):
    model = toys.TwoGroupToy()  # both groups: lr 1e-2, betas (0.5, 0.999)
    train(model, toys.regression_dataset(n=40),
          quiet(steps=3, batch_size=8, group_lr={"generator": 1e-4}, group_betas={"generator": (0.0, 0.9)}))
    assert set(of(adam_steps, model.critic.weight)) == {(1e-2, (0.5, 0.999))}
    assert set(of(adam_steps, model.generator.weight)) == {(1e-4, (0.0, 0.9))}
    assert len(of(adam_steps, model.critic.weight)) == 6 and len(of(adam_steps, model.generator.weight)) == 3


def test_default_settings_train_exactly_as_a_plain_adam_loop(toys):
    """Constant schedule, no EMA, no overrides: the weights of the engine before schedules existed."""
    data, steps = toys.regression_dataset(), 12

    def engine_run(**settings):
        torch.manual_seed(0)
        model = toys.LinearRegressor()
        train(model, data, quiet(steps=steps, batch_size=32, **settings))
        return model.state_dict()

    torch.manual_seed(0)
    reference = toys.LinearRegressor()
    optimizer = torch.optim.Adam(reference.parameters(), lr=0.05, betas=(0.9, 0.999))
    sampler = BatchSampler(len(data), 32, seed=0)
    for _ in range(steps):
        loss, _ = reference.compute_loss("model", Batch(*data.batch(sampler.next_indices())))
        reference.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    by_hand = reference.state_dict()
    for weights in (engine_run(), engine_run(lr_schedule="constant", warmup_steps=0, ema_decay=None),
                    engine_run(ema_decay=0.0), engine_run(group_lr={"model": 0.05})):
        assert all(torch.equal(weights[k], by_hand[k]) for k in by_hand)


def test_default_settings_on_two_groups_equal_the_explicit_ones(toys):
    runs = []
    for settings in ({}, {"lr_schedule": "constant", "ema_decay": 0.0, "group_lr": {"critic": 1e-2}}):
        torch.manual_seed(0)
        model = toys.TwoGroupToy()
        train(model, toys.regression_dataset(n=40), quiet(steps=4, batch_size=8, **settings))
        runs.append(model.state_dict())
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])


@pytest.mark.parametrize("settings, message", [
    ({"lr_schedule": "step"}, "unknown lr_schedule 'step'; valid: constant, warmup, cosine"),
    ({"lr_schedule": "warmup", "warmup_steps": -1}, "warmup_steps must be an integer ≥ 0"),
    ({"lr_schedule": "warmup"}, "lr_schedule='warmup' needs warmup_steps ≥ 1"),
    ({"warmup_steps": 5}, "warmup_steps=5 needs lr_schedule='warmup' or 'cosine'"),
    ({"lr_schedule": "cosine", "warmup_steps": 10, "steps": 10}, "needs warmup_steps < steps"),
    ({"lr_schedule": "cosine", "min_lr_ratio": 1.5}, "min_lr_ratio must lie in [0, 1]"),
    ({"min_lr_ratio": 0.1}, "min_lr_ratio=0.1 needs lr_schedule='cosine'"),
    ({"ema_decay": 1.0}, "ema_decay must lie in [0, 1)"),
    ({"ema_decay": -0.1}, "ema_decay must lie in [0, 1)"),
    ({"group_lr": {"generator": -1e-4}}, "group_lr['generator'] must be a positive number"),
    ({"group_lr": {"generator": "fast"}}, "group_lr['generator'] must be a positive number"),
    ({"group_betas": {"generator": (0.5, 1.0)}}, "group_betas['generator'] must be two numbers in [0, 1)"),
])
def test_bad_settings_are_one_line_config_errors(settings, message):
    with pytest.raises(ConfigError) as caught:
        TrainConfig(**{"steps": 10, **settings})
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_an_unknown_group_name_lists_the_models_groups(toys):
    for settings in ({"group_lr": {"discriminator": 1e-4}}, {"group_betas": {"discriminator": (0.0, 0.9)}}):
        with pytest.raises(ConfigError) as caught:
            train(toys.TwoGroupToy(), toys.regression_dataset(n=40), quiet(steps=1, batch_size=8, **settings))
        message = str(caught.value)
        assert "['discriminator']" in message and "valid groups: ['critic', 'generator']" in message
        assert "\n" not in message


def test_cli_style_text_values_become_numbers():
    config = TrainConfig(group_lr={"generator": "1e-4"}, group_betas={"generator": [np.float64(0.0), 0.9]})
    assert config.group_lr == {"generator": 1e-4} and config.group_betas == {"generator": (0.0, 0.9)}
