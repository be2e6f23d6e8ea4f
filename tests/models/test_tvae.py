"""TVAE: mode-specific normalisation is invertible, and a tiny model learns a small mixed table's marginals."""

import numpy as np
import pandas as pd
import pytest
import torch

import condgen
from condgen.data.table_columns import TableColumn, columns_of
from condgen.data.tables import table_from_frame
from condgen.models.factory import build_model
from condgen.models.table_transform import TableTransform, fit_layout
from condgen.train import TrainConfig, train


def mixed_table(n: int = 2000, seed: int = 0):
    """A bimodal number (two clusters at -5 and +5), an integer that is 0 for 70 % of rows (a spike) and a
    category that says which cluster the number is in (90 % of the time)."""
    rng = np.random.default_rng(seed)
    cluster = rng.random(n) < 0.4
    number = np.where(cluster, 5.0, -5.0) + rng.normal(0, 0.5, n)
    counts = np.where(rng.random(n) < 0.7, 0, rng.integers(100, 200, n))
    label = np.where(cluster ^ (rng.random(n) < 0.1), "right", "left")
    frame = pd.DataFrame({"number": number, "count": counts, "side": label})
    return table_from_frame(frame, name="mixed", target="side")


def test_encoding_then_decoding_a_perfect_output_gives_the_rows_back():
    dataset = mixed_table(500)
    layouts = fit_layout(columns_of(dataset.spec), dataset.data)
    assert 2 <= len(layouts[0].means) <= 10  # the two clusters, at least
    transform = TableTransform(layouts)
    encoded = transform.encode(dataset.data)
    assert encoded.shape == (500, transform.width)
    # a decoder output that is the encoding itself: α through atanh, modes and categories as large logits
    blocks = []
    for layout, block in zip(layouts, transform.split(encoded), strict=True):
        if layout.is_number:
            blocks.append(torch.cat([torch.atanh(block[:, :1]), 20 * block[:, 1:]], dim=1))
        else:
            blocks.append(20 * block)
    decoded = transform.decode(torch.cat(blocks, dim=1))
    numbers_ok = (decoded[:, 0] - dataset.data[:, 0]).abs() < 1e-3
    assert numbers_ok.float().mean() > 0.99  # α is clipped at ±0.99 (4σ): only far tails move
    assert torch.equal(decoded[:, 1], dataset.data[:, 1])  # integers, the zero spike exactly
    assert torch.equal(decoded[:, 2], dataset.data[:, 2])


@pytest.fixture(scope="module")
def trained_tvae():
    dataset = mixed_table()
    torch.manual_seed(0)
    model = build_model("tvae", dataset, latent_dim=4, hidden=64)
    train(model, dataset, TrainConfig(steps=1500, batch_size=256, seed=0, progress=False))
    return model.eval(), dataset


def test_samples_keep_the_marginals_and_the_dependence(trained_tvae):
    model, dataset = trained_tvae
    rows = model.sample(2000, generator=torch.Generator().manual_seed(1))
    real = dataset.data
    right = columns_of(dataset.spec)[2].categories.index("right")
    share = lambda table: float((table[:, 2] == right).float().mean())  # noqa: E731
    assert share(rows) == pytest.approx(share(real), abs=0.06)
    high = rows[:, 0] > 0
    assert float(high.float().mean()) == pytest.approx(float((real[:, 0] > 0).float().mean()), abs=0.06)
    assert float((rows[:, 0] - 5).abs()[high].median()) < 1.0  # the modes are where the data's are
    assert float((rows[:, 1] == 0).float().mean()) == pytest.approx(0.7, abs=0.08)  # the spike is kept
    assert set(rows[:, 1][rows[:, 1] != 0].round().tolist()) <= set(range(100, 200))
    agree = ((rows[:, 0] > 0) == (rows[:, 2] == right)).float().mean()
    assert float(agree) > 0.8  # the category follows the cluster as in the data (90 %)


def test_a_saved_tvae_decodes_the_same_rows(trained_tvae, tmp_path):
    model, _ = trained_tvae
    model.save(tmp_path / "tvae")
    loaded = condgen.load(tmp_path / "tvae")
    z = torch.randn(16, model.latent_dim, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert torch.equal(loaded.decode(z), model.decode(z))
    assert loaded.modality.name == "tables"
    assert [c.name for c in loaded.modality.columns] == ["number", "count", "side"]


def test_tvae_refuses_data_that_is_not_a_table():
    from condgen.data import load_dataset
    from condgen.errors import ConfigError

    with pytest.raises(ConfigError, match="needs a table"):
        build_model("tvae", load_dataset("toy2d", n=64))


def test_table_columns_write_their_own_values():
    column = TableColumn("side", "categorical", ("left", "right"))
    assert column.readable(1.0) == "right" and TableColumn("n", "integer").readable(2.6) == 3
