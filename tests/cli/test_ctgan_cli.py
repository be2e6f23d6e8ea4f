"""CTGAN through the command line: train on a CSV, sample rows in the table's own values, condition on a category,
and a batch that pac does not divide is a one-line error."""

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="module")
def shop_csv(tmp_path_factory):
    """400 rows: an age, a job (clerk rare) that depends on it, and a yes/no target."""
    rng = np.random.default_rng(0)
    n = 400
    age = rng.integers(20, 65, n)
    job = np.where(rng.random(n) < 0.1, "clerk", np.where(age > 45, "manager", "worker"))
    rich = np.where(job == "manager", "yes", "no")
    path = tmp_path_factory.mktemp("ctgan") / "shop.csv"
    pd.DataFrame({"age": age, "job": job, "rich": rich}).to_csv(path, index=False)
    return path


def test_train_then_sample_rows_and_rows_of_one_category(cli, shop_csv, tmp_path):
    out = tmp_path / "ctgan"
    cli("train", "ctgan", "--data", shop_csv, "--target", "rich", "--out", out, "--steps", "100", "--batch-size",
        "100", "--sample-every", "0", "-o", "noise_dim=8", "-o", "generator_dims=[64,64]", "-o", "critic_dims=[32]",
        "-o", "lr=1e-3")
    cli("sample", out, "-n", "100", "--out", tmp_path / "rows.csv")
    rows = pd.read_csv(tmp_path / "rows.csv")
    assert list(rows.columns) == ["age", "job", "rich"] and len(rows) == 100
    assert set(rows["job"]) <= {"clerk", "manager", "worker"} and set(rows["rich"]) <= {"yes", "no"}
    assert rows["age"].between(20, 64).all() and (rows["age"] == rows["age"].round()).all()
    cli("sample", out, "-n", "100", "--set", "job=clerk", "--out", tmp_path / "clerks.csv")
    assert (pd.read_csv(tmp_path / "clerks.csv")["job"] == "clerk").mean() > 0.5  # 10 % in the data
    refused = cli("sample", out, "--set", "job=pilot", "--out", tmp_path / "pilots.csv", ok=False)
    assert refused.exit_code != 0 and "'pilot' is not a category of job" in str(refused.exception)


def test_a_batch_that_pac_does_not_divide_is_refused_in_one_line(cli, shop_csv, tmp_path):
    refused = cli("train", "ctgan", "--data", shop_csv, "--target", "rich", "--out", tmp_path / "ctgan", "--steps",
                  "5", "--batch-size", "64", ok=False)
    message = str(refused.exception)
    assert refused.exit_code != 0 and "not a multiple of 10" in message and "\n" not in message
