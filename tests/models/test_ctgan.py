"""CTGAN: training-by-sampling draws conditions by log-frequency and rows that hold them; a tiny model learns a small
table's marginals and its conditions; save/load and resume are exact; bad settings are one-line errors."""

import numpy as np
import pandas as pd
import pytest
import torch

import condgen
from condgen.data.tables import table_from_frame
from condgen.errors import ConfigError
from condgen.models.ctgan import CTGAN
from condgen.models.factory import build_model
from condgen.train import TrainConfig, train

#: Small networks that still learn :func:`small_table` in a few hundred steps (packs of 5: 40 per batch of 200).
SMALL = {"noise_dim": 16, "generator_dims": [64, 64], "critic_dims": [64, 64], "lr": 1e-3, "pac": 5}
COLOURS = {"red": 0.6, "green": 0.25, "blue": 0.1, "grey": 0.05}


def small_table(n: int = 600, seed: int = 0):
    """A bimodal number (clusters at −5 and +5), a colour with a rare category (grey, 5 %) and a side that says
    which cluster the number is in (90 % of the time)."""
    rng = np.random.default_rng(seed)
    cluster = rng.random(n) < 0.4
    number = np.where(cluster, 5.0, -5.0) + rng.normal(0, 0.5, n)
    colour = rng.choice(list(COLOURS), n, p=list(COLOURS.values()))
    side = np.where(cluster ^ (rng.random(n) < 0.1), "right", "left")
    frame = pd.DataFrame({"number": number, "colour": colour, "side": side})
    return table_from_frame(frame, name="small", target="side")


def category(dataset, column: str, name: str) -> int:
    entry = next(c for c in dataset.spec["columns"] if c["name"] == column)
    return entry["categories"].index(name)


def test_training_by_sampling_draws_categories_by_log_frequency_and_rows_that_hold_them():
    dataset = small_table()
    model = build_model("ctgan", dataset, **SMALL)
    model.set_training_data(dataset)
    torch.manual_seed(0)
    draws = 40000
    conditions, rows = model.sampling_.draw(draws)
    # what the paper says, computed here from the raw rows: a column uniformly, a category ∝ log(1 + count)
    expected = []
    for j in (1, 2):
        counts = np.bincount(dataset.data[:, j].long().numpy(), minlength=len(dataset.spec["columns"][j]["categories"]))
        expected.append(np.log1p(counts) / np.log1p(counts).sum() / 2)
    expected = np.concatenate(expected)
    observed = np.bincount(conditions.numpy(), minlength=len(expected)) / draws
    assert np.abs(observed - expected).max() < 0.01  # ≈ 6 standard errors at 40,000 draws
    grey = category(dataset, "colour", "grey")
    share_of_grey = float((dataset.data[:, 1] == grey).float().mean())
    assert observed[grey] > 3 * share_of_grey / 2  # far more often than by frequency (its share, half the time)
    # every drawn row holds the category it was drawn for, in the column it was drawn for
    columns = model.space.column_of(conditions)
    table_columns = torch.tensor(model.space.columns)[columns]
    held = dataset.data[rows, table_columns].long()
    assert torch.equal(held, conditions - model.space.offsets[columns])
    # and every row of the rare category is drawn at some point (uniformly among them)
    grey_rows = set(torch.nonzero(dataset.data[:, 1] == grey).squeeze(1).tolist())
    assert set(rows[conditions == grey].tolist()) == grey_rows


@pytest.fixture(scope="module")
def trained_ctgan():
    dataset = small_table()
    torch.manual_seed(0)
    model = build_model("ctgan", dataset, **SMALL)
    # the EMA of the weights (the engine's, as for any GAN) steadies the last steps' oscillation
    train(model, dataset, TrainConfig(steps=400, batch_size=200, seed=0, progress=False, log_every=0, ema_decay=0.995))
    return model.eval(), dataset


def test_samples_keep_the_category_marginals_and_both_modes_of_the_number(trained_ctgan):
    model, dataset = trained_ctgan
    rows = model.sample(3000, generator=torch.Generator().manual_seed(1))
    real = dataset.data
    for j in (1, 2):
        sizes = len(dataset.spec["columns"][j]["categories"])
        generated = np.bincount(rows[:, j].long().numpy(), minlength=sizes) / len(rows)
        wanted = np.bincount(real[:, j].long().numpy(), minlength=sizes) / len(real)
        assert np.abs(generated - wanted).max() < 0.06, (j, generated, wanted)
    assert real[:, 0].min() <= rows[:, 0].min() and rows[:, 0].max() <= real[:, 0].max()
    high = rows[:, 0] > 0
    assert float(high.float().mean()) == pytest.approx(float((real[:, 0] > 0).float().mean()), abs=0.1)
    assert float((rows[:, 0] - 5).abs()[high].median()) < 1.0 and float((rows[:, 0] + 5).abs()[~high].median()) < 1.0


def test_conditioned_samples_have_the_conditioned_category(trained_ctgan):
    model, dataset = trained_ctgan
    generator = torch.Generator().manual_seed(3)
    grey = model.sample(500, generator=generator, condition={"colour": "grey"})
    assert float((grey[:, 1] == category(dataset, "colour", "grey")).float().mean()) > 0.9
    right = model.sample(500, generator=generator, condition={"side": "right"})
    assert float((right[:, 2] == category(dataset, "side", "right")).float().mean()) > 0.9
    assert float((right[:, 0] > 0).float().mean()) > 0.7  # the number follows the side, as in the data (80 %)
    by_index = model.sample(50, generator=torch.Generator().manual_seed(4), condition={"colour": 2})
    by_name = model.sample(50, generator=torch.Generator().manual_seed(4), condition={"colour": "grey"})
    assert torch.equal(by_index, by_name)


def test_a_saved_ctgan_samples_the_same_rows(trained_ctgan, tmp_path):
    model, _ = trained_ctgan
    model.save(tmp_path / "ctgan")
    loaded = condgen.load(tmp_path / "ctgan")
    assert isinstance(loaded, CTGAN) and loaded.config == model.config
    assert torch.equal(loaded.category_frequencies, model.category_frequencies)
    for options in ({}, {"condition": {"side": "left"}}):
        expected = model.sample(64, generator=torch.Generator().manual_seed(2), **options)
        assert torch.equal(loaded.sample(64, generator=torch.Generator().manual_seed(2), **options), expected)
    assert loaded.modality.name == "tables" and loaded.latent_dim == 17
    assert loaded.training_rows_ is None  # the artifact holds weights and frequencies, not the training rows


def test_a_resumed_run_equals_an_uninterrupted_one(tmp_path):
    dataset = small_table(200)
    options = {**SMALL, "noise_dim": 4, "generator_dims": [16], "critic_dims": [16]}

    def run(steps: int, out, resume: bool = False) -> CTGAN:
        torch.manual_seed(0)
        model = build_model("ctgan", dataset, **options)
        config = TrainConfig(steps=steps, batch_size=50, out=out, resume=resume, checkpoint_every=3,
                             progress=False, log_every=1, device="cpu")
        return train(model, dataset, config).model

    straight = run(6, tmp_path / "straight")
    halfway = run(3, tmp_path / "split").generator[-1].weight.clone()
    resumed = run(6, tmp_path / "split", resume=True)
    for key, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key
    assert not torch.equal(halfway, resumed.generator[-1].weight)  # the resumed run did train on


def test_bad_settings_are_one_line_config_errors():
    dataset = small_table(100)
    model = build_model("ctgan", dataset, **{**SMALL, "pac": 10})
    with pytest.raises(ConfigError, match=r"batch of 64 rows is not a multiple of 10; use e\.g\. --batch-size 500"
                       ) as caught:
        train(model, dataset, TrainConfig(steps=1, batch_size=64, progress=False))
    assert "\n" not in str(caught.value)
    from condgen.data import load_dataset

    with pytest.raises(ConfigError, match="needs a table"):
        build_model("ctgan", load_dataset("toy2d", n=64))
    with pytest.raises(ConfigError, match="need pac ≥ 1"):
        build_model("ctgan", dataset, pac=0)
    for condition, message in [({"shade": "grey"}, r"unknown categorical column 'shade'; valid: colour, side"),
                               ({"number": 1}, "unknown categorical column 'number'"),
                               ({"colour": "pink"}, r"'pink' is not a category of colour; valid: blue, green"),
                               ({"colour": "grey", "side": "left"}, "one category of one categorical column")]:
        with pytest.raises(ConfigError, match=message) as caught:
            model.sample(4, condition=condition)
        assert "\n" not in str(caught.value)
