"""`condgen evaluate` on a table model: SDMetrics scores of as many rows as the held-out split holds."""

import json

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sdmetrics")


@pytest.fixture(scope="module")
def shop_csv(tmp_path_factory):
    """500 rows: age, a job that depends on age, and a yes/no target."""
    rng = np.random.default_rng(0)
    n = 500
    age = rng.integers(20, 65, n)
    job = np.where(age > 45, "manager", rng.choice(["clerk", "worker"], n))
    rich = np.where((job == "manager") & (rng.random(n) < 0.8), "yes", "no")
    path = tmp_path_factory.mktemp("tables") / "shop.csv"
    pd.DataFrame({"age": age, "job": job, "rich": rich}).to_csv(path, index=False)
    return path


def test_evaluate_scores_a_tvae_against_the_held_out_rows(cli, shop_csv, tmp_path):
    model = tmp_path / "tvae"
    cli("train", "tvae", "--data", shop_csv, "--target", "rich", "--out", model, "--steps", "50",
        "--batch-size", "100", "--sample-every", "0", "-o", "latent_dim=4", "-o", "hidden=32")
    result = cli("evaluate", model, "--json", tmp_path / "quality.json")
    report = json.loads((tmp_path / "quality.json").read_text())
    assert report["rows"] == {"real": 100, "synthetic": 100, "real_train": 400}  # a fifth held out
    for score in (report["column_shapes"]["mean"], report["column_pair_trends"]["mean"],
                  report["detection"]["score"], report["tstr"]["synthetic"]["accuracy"]):
        assert 0 <= score <= 1
    assert report["tstr"]["real"]["accuracy"] > 0.7 and report["tstr"]["target"] == "rich"
    assert report["setup"]["held_out_seen_in_training"]  # a CSV trains on all its rows unless told otherwise
    for words in ("column shapes", "column-pair trends", "detection", "TSTR accuracy", "job"):
        assert words in result.output

    # the same rows for a seed; another seed, other rows
    cli("evaluate", model, "--json", tmp_path / "again.json")
    assert json.loads((tmp_path / "again.json").read_text()) == report
    other = tmp_path / "other.json"
    cli("evaluate", model, "--json", other, "--seed", "1")
    assert json.loads(other.read_text())["column_shapes"] != report["column_shapes"]


def test_evaluate_refuses_a_table_of_other_columns_in_one_line(cli, shop_csv, tmp_path):
    model = tmp_path / "tvae"
    cli("train", "tvae", "--data", shop_csv, "--target", "rich", "--out", model, "--steps", "5",
        "--sample-every", "0", "-o", "latent_dim=4", "-o", "hidden=16")
    refused = cli("evaluate", model, "--data", "wine", ok=False)
    message = str(refused.exception)
    assert refused.exit_code != 0 and "\n" not in message
    assert "--data wine: not the model's table" in message and "age, job, rich" in message
    renamed = tmp_path / "renamed.csv"
    pd.read_csv(shop_csv).rename(columns={"job": "role"}).to_csv(renamed, index=False)
    message = str(cli("evaluate", model, "--data", renamed, ok=False).exception)
    assert "missing: job" in message and "does not have: role" in message
    assert "not a table" in str(cli("evaluate", model, "--data", "faces", ok=False).exception)
