"""Tables through the command line: export a built-in table, train a TVAE on a CSV, steer it with a plugin."""

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="module")
def people_csv(tmp_path_factory):
    """1,500 rows: age, a job that depends on age, hours, and a yes/no target."""
    rng = np.random.default_rng(0)
    n = 1500
    age = rng.integers(20, 65, n)
    job = np.where(age > 45, "manager", np.where(rng.random(n) < 0.5, "clerk", "worker"))
    hours = np.clip(rng.normal(40, 8, n).round(), 10, 80).astype(int)
    rich = np.where((job == "manager") & (hours > 38), "yes", "no")
    path = tmp_path_factory.mktemp("tables") / "people.csv"
    pd.DataFrame({"age": age, "job": job, "hours": hours, "rich": rich}).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def tvae_dir(cli, people_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("tables") / "tvae"
    cli("train", "tvae", "--data", people_csv, "--target", "rich", "--out", out, "--steps", "600",
           "--batch-size", "256", "--sample-every", "0", "-o", "latent_dim=8", "-o", "hidden=64")
    return out


def test_sample_writes_rows_in_the_tables_own_values(cli, tvae_dir, tmp_path):
    cli("sample", tvae_dir, "-n", "200", "--out", tmp_path / "rows.csv")
    rows = pd.read_csv(tmp_path / "rows.csv")
    assert list(rows.columns) == ["age", "job", "hours", "rich"]
    assert set(rows["job"]) <= {"clerk", "manager", "worker"} and set(rows["rich"]) <= {"yes", "no"}
    assert rows["age"].between(20, 64).all() and (rows["age"] == rows["age"].round()).all()
    refused = cli("sample", tvae_dir, "--out", tmp_path / "rows.png", ok=False)
    assert "choose an --out ending in .csv" in str(refused.exception)


def test_a_plugin_generates_rows_with_the_asked_values(cli, tvae_dir, tmp_path):
    plugin = tmp_path / "plugin"
    cli("plugin", "fit", tvae_dir, "--attrs", "age,job", "--out", plugin)
    cli("generate", plugin, "--set", "job=manager", "-n", "100", "--out", tmp_path / "managers.csv")
    managers = pd.read_csv(tmp_path / "managers.csv")
    assert (managers["job"] == "manager").mean() >= 0.8
    assert managers["age"].mean() > 45  # the data's managers are over 45: the plugin keeps that dependence
    cli("generate", plugin, "--set", "job=clerk", "--set", "age=30", "-n", "100", "--out", tmp_path / "c.csv")
    clerks = pd.read_csv(tmp_path / "c.csv")
    assert (clerks["job"] == "clerk").mean() >= 0.7 and abs(clerks["age"].mean() - 30) < 6
    cli("plugin", "calibrate", plugin)  # no classifier: the number columns of the decoded rows are read
    cli("generate", plugin, "--set", "age=50", "-n", "200", "--out", tmp_path / "old.csv")
    assert abs(pd.read_csv(tmp_path / "old.csv")["age"].mean() - 50) < 3
    bad = cli("generate", plugin, "--set", "job=pilot", "--out", tmp_path / "x.csv", ok=False)
    assert "not one of the categories clerk, manager, worker" in str(bad.exception)


def test_datasets_export_and_list_name_the_tables_and_their_sources(cli, tmp_path):
    cli("datasets", "export", "wine", "--out", tmp_path / "wine.csv")
    wine = pd.read_csv(tmp_path / "wine.csv")
    assert len(wine) == 178 and wine.columns[-1] == "cultivar"
    listing = cli("datasets").output
    for word in ("adult", "german-credit", "compas", "CC BY 4.0", "breast-cancer"):
        assert word in listing
