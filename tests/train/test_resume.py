"""Resuming refuses, in one line naming each option with its saved and new value, a run that would differ from
the checkpoint's; nothing is written then. Settings that do not shape the run may change."""

import json

import pytest

from condgen.errors import ConfigError
from condgen.train import TrainConfig, train
from condgen.train.checkpoint import JSON_FILE, load_checkpoint


def quiet(out, **values) -> TrainConfig:
    return TrainConfig(**{"steps": 4, "batch_size": 8, "progress": False, "device": "cpu", "out": out, **values})


def _files(out):
    return {path.relative_to(out): path.read_bytes() for path in sorted(out.rglob("*")) if path.is_file()}


def _trained(toys, out, data_spec=None):
    model = toys.LinearRegressor()
    model.data_spec = dict(data_spec or {"name": "toy-regression", "n": 96, "seed": 0})
    train(model, toys.regression_dataset(), quiet(out))
    return model


@pytest.mark.parametrize("changed, named", [
    ({"config": {"lr": 1e12}}, "-o lr 0.05 (saved) vs 1e+12 (now)"),
    ({"config": {"grad_clip": 1.0}}, "-o grad_clip none (saved) vs 1 (now)"),
    ({"data": {"n": 50}}, "-n 96 (saved) vs 50 (now)"),
    ({"data": {"split": "test"}}, "--data-option split none (saved) vs test (now)"),
])
def test_other_model_options_or_data_are_refused_and_nothing_is_written(tmp_path, toys, changed, named):
    _trained(toys, tmp_path)
    before = _files(tmp_path)
    model = toys.LinearRegressor(toys.LinearConfig(**changed.get("config", {})))
    model.data_spec = {"name": "toy-regression", "n": 96, "seed": 0, **changed.get("data", {})}
    with pytest.raises(ConfigError) as caught:
        train(model, toys.regression_dataset(), quiet(tmp_path, steps=6, resume=True))
    message = str(caught.value)
    assert message.startswith("--resume: ") and named in message and "\n" not in message
    assert "train without --resume (or into another --out)" in message
    assert _files(tmp_path) == before  # no value the weights never saw is recorded


def test_several_differences_are_all_named(tmp_path, toys):
    _trained(toys, tmp_path)
    model = toys.LinearRegressor(toys.LinearConfig(lr=0.01))
    model.data_spec = {"name": "toy-regression", "n": 96, "seed": 0}
    with pytest.raises(ConfigError) as caught:
        train(model, toys.regression_dataset(), quiet(tmp_path, resume=True, batch_size=4, seed=3))
    message = str(caught.value)
    for part in ("-o lr 0.05 (saved) vs 0.01 (now)", "--batch-size 8 (saved) vs 4 (now)",
                 "--seed 0 (saved) vs 3 (now)"):
        assert part in message


def test_a_checkpoint_from_before_model_settings_were_recorded_compares_with_the_artifact_beside_it(tmp_path, toys):
    _trained(toys, tmp_path)
    path = tmp_path / "checkpoint" / JSON_FILE
    meta = json.loads(path.read_text())
    del meta["model"]
    path.write_text(json.dumps(meta))
    model = toys.LinearRegressor(toys.LinearConfig(lr=0.01))
    model.data_spec = {"name": "toy-regression", "n": 96, "seed": 0}
    with pytest.raises(ConfigError, match=r"-o lr 0.05 \(saved\) vs 0.01 \(now\)"):
        train(model, toys.regression_dataset(), quiet(tmp_path, resume=True))


def test_settings_that_do_not_shape_the_run_may_change(tmp_path, toys):
    spec = {"name": "toy-regression", "n": 96, "seed": 0}
    _trained(toys, tmp_path, data_spec=spec)
    model = toys.LinearRegressor()
    model.data_spec = dict(spec)
    result = train(model, toys.regression_dataset(),
                   quiet(tmp_path, steps=6, resume=True, checkpoint_every=1, sample_every=2, log_every=1))
    assert result.steps_done == 6 and load_checkpoint(tmp_path).meta["model"]["data"] == spec


def test_resuming_says_from_which_step_on_one_line(tmp_path, toys, caplog):
    _trained(toys, tmp_path)
    model = toys.LinearRegressor()
    model.data_spec = {"name": "toy-regression", "n": 96, "seed": 0}
    with caplog.at_level("INFO", logger="condgen.train"):
        train(model, toys.regression_dataset(), quiet(tmp_path, steps=4, resume=True))
    assert f"resuming from step 4 of {tmp_path / 'checkpoint'} (--steps 4: nothing left to train)" in caplog.messages


def test_change_options_applies_changed_model_options_from_the_checkpoint_on_and_records_them(tmp_path, toys):
    _trained(toys, tmp_path)
    model = toys.LinearRegressor(toys.LinearConfig(grad_clip=1.0))
    model.data_spec = {"name": "toy-regression", "n": 96, "seed": 0}
    train(model, toys.regression_dataset(), quiet(tmp_path, steps=6, resume=True, change_options=True))
    changes = [{"step": 4, "options": {"grad_clip": [None, 1.0]}}]
    assert json.loads((tmp_path / "config.json").read_text())["option_changes"] == changes
    assert json.loads((tmp_path / "checkpoint" / JSON_FILE).read_text())["model"]["option_changes"] == changes
    # Resuming again under the new values needs no flag, and keeps the record.
    again = toys.LinearRegressor(toys.LinearConfig(grad_clip=1.0))
    again.data_spec = dict(model.data_spec)
    train(again, toys.regression_dataset(), quiet(tmp_path, steps=8, resume=True))
    assert json.loads((tmp_path / "config.json").read_text())["option_changes"] == changes


def test_change_options_still_refuses_what_the_optimiser_state_or_the_data_decide(tmp_path, toys):
    _trained(toys, tmp_path)
    before = _files(tmp_path)
    model = toys.LinearRegressor(toys.LinearConfig(lr=0.01))
    model.data_spec = {"name": "toy-regression", "n": 96, "seed": 0}
    with pytest.raises(ConfigError, match="optimiser's lr 0.05 .saved. vs 0.01"):
        train(model, toys.regression_dataset(), quiet(tmp_path, steps=6, resume=True, change_options=True))
    model = toys.LinearRegressor()
    model.data_spec = {"name": "toy-regression", "n": 50, "seed": 0}
    with pytest.raises(ConfigError, match="-n 96 .saved. vs 50"):
        train(model, toys.regression_dataset(), quiet(tmp_path, steps=6, resume=True, change_options=True))
    assert _files(tmp_path) == before
    with pytest.raises(ConfigError, match="pass --resume too"):
        quiet(tmp_path, change_options=True)
