"""σ schedules do exactly what their docstrings say, and the plugin applies them by progress."""

import pytest
import torch

from condgen.data.schema import Attribute, AttributeSchema
from condgen.errors import ConfigError
from condgen.models.base import Batch
from condgen.plugin import Plugin, PluginConfig
from condgen.plugin.schedule import ConstantSchedule, ExponentialSchedule, make_schedule


def test_exponential_schedule_interpolates_geometrically_from_start_to_end():
    schedule = ExponentialSchedule(0.8, 0.2)
    assert schedule(0.0) == pytest.approx(0.8)
    assert schedule(1.0) == pytest.approx(0.2)
    assert schedule(0.5) == pytest.approx(0.4)  # √(0.8 · 0.2)
    assert schedule(0.25) == pytest.approx(0.8 * 0.25**0.25)
    # The same factor over every equal stretch of training.
    assert schedule(0.3) / schedule(0.1) == pytest.approx(schedule(0.9) / schedule(0.7))
    # Clamped outside [0, 1]: training longer than planned stays at `end`.
    assert schedule(1.7) == pytest.approx(0.2) and schedule(-1.0) == pytest.approx(0.8)


def test_schedule_is_a_pure_function_of_progress_and_never_compounds():
    schedule = ExponentialSchedule(1.0, 0.5)
    first = [schedule(t / 50) for t in range(51)]
    second = [schedule(t / 50) for t in range(51)]
    assert first == second
    assert min(first) == pytest.approx(0.5)  # the published code's compounding ended near 0.07


def test_constant_schedule_and_factory():
    assert ConstantSchedule(0.3)(0.0) == ConstantSchedule(0.3)(1.0) == 0.3
    assert make_schedule("constant", 0.9, 0.3)(0.5) == 0.3
    assert make_schedule("exponential", 0.9, 0.1)(0.5) == pytest.approx(0.3)
    with pytest.raises(ConfigError, match="sigma_schedule"):
        make_schedule("cosine", 1.0, 0.1)
    with pytest.raises(ConfigError, match="positive"):
        ExponentialSchedule(0.0, 0.1)


def test_plugin_sets_sigma_from_training_progress():
    schema = AttributeSchema((Attribute("a", "binary"),))
    plugin = Plugin(PluginConfig(hidden=8, depth=2, sigma_start=0.6, sigma_end=0.15), schema, latent_dim=4)
    for step, total in [(0, 100), (50, 100), (99, 100), (100, 100)]:
        plugin.set_progress(step, total)
        assert float(plugin.sigma) == pytest.approx(0.6 * 0.25 ** (step / total), rel=1e-6)
    _, logs = plugin.compute_loss("flow", Batch(torch.zeros(2, 4), torch.zeros(2, 1)))
    assert logs["sigma"] == pytest.approx(0.15)
    assert plugin.inference_sigma == pytest.approx(0.15)
