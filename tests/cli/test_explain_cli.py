"""``condgen explain`` end to end: a table with an ONNX classifier, faces with a condgen classifier, bad input."""

import json

import numpy as np
import onnxruntime
import pandas as pd
import pytest


@pytest.fixture(scope="module")
def table_setup(cli, tmp_path_factory):
    """People whose income is high exactly when they are managers working long hours: a TVAE + plugin on age,
    job and hours, and a logistic regression exported to ONNX (one input per column, as skl2onnx makes it)."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    folder = tmp_path_factory.mktemp("explain")
    rng = np.random.default_rng(0)
    n = 1500
    age = rng.integers(20, 65, n)
    job = rng.choice(["clerk", "manager", "worker"], n)
    hours = np.clip(rng.normal(40, 8, n).round(), 10, 80).astype(int)
    rich = np.where((job == "manager") & (hours > 38), "yes", "no")
    frame = pd.DataFrame({"age": age, "job": job, "hours": hours, "rich": rich})
    frame.to_csv(folder / "people.csv", index=False)
    features = frame.drop(columns="rich")
    pipeline = Pipeline([("columns", ColumnTransformer([("numbers", StandardScaler(), ["age", "hours"]),
                                                        ("job", OneHotEncoder(), ["job"])])),
                         ("model", LogisticRegression(C=10.0, max_iter=1000))]).fit(features, frame["rich"])
    types = [("age", FloatTensorType([None, 1])), ("job", StringTensorType([None, 1])),
             ("hours", FloatTensorType([None, 1]))]
    (folder / "rich.onnx").write_bytes(to_onnx(pipeline, initial_types=types).SerializeToString())  # ZipMap output
    two_columns = Pipeline([("model", LogisticRegression())]).fit(
        pd.DataFrame({"age": age, "salary": hours}).to_numpy(np.float32), frame["rich"])
    (folder / "wrong.onnx").write_bytes(to_onnx(two_columns, initial_types=[("input", FloatTensorType([None, 2]))])
                                        .SerializeToString())  # one float matrix: the table has a category
    cli("train", "tvae", "--data", folder / "people.csv", "--target", "rich", "--out", folder / "tvae", "--steps",
           "800", "--batch-size", "256", "--sample-every", "0", "-o", "latent_dim=8", "-o", "hidden=64")
    cli("plugin", "fit", folder / "tvae", "--attrs", "age,job,hours", "--out", folder / "plugin")
    return folder


def onnx_probability_of_yes(model_path, rows: pd.DataFrame) -> np.ndarray:
    session = onnxruntime.InferenceSession(str(model_path))
    feeds = {"age": rows[["age"]].to_numpy(np.float32), "job": rows[["job"]].astype(str).to_numpy(),
             "hours": rows[["hours"]].to_numpy(np.float32)}
    return np.array([p["yes"] for p in session.run(["output_probability"], feeds)[0]])


def test_table_counterfactuals_are_valid_sparse_and_keep_frozen_columns(cli, table_setup, tmp_path):
    folder = table_setup
    indices = [arg for i in range(30) for arg in ("--index", str(i))]
    cli("explain", folder / "plugin", "--classifier", folder / "rich.onnx", *indices, "-k", "2",
           "--freeze", "age", "--target-class", "yes", "--out", tmp_path / "cf.csv", "--json", tmp_path / "cf.json")
    table = pd.read_csv(tmp_path / "cf.csv", keep_default_na=False)
    record = json.loads((tmp_path / "cf.json").read_text())
    originals = table[table["kind"] == "original"].set_index("query")
    counterfactuals = table[table["kind"] == "counterfactual"]
    outside = [q["query"] for q in record["queries"] if not q["already_in_target"]]
    assert len(outside) >= 15
    found = set(counterfactuals["query"])
    assert len(found & set(outside)) / len(outside) >= 0.9  # validity
    # valid by the classifier itself, read back from the file as a user would
    assert (onnx_probability_of_yes(folder / "rich.onnx", counterfactuals) >= 0.5).all()
    assert (counterfactuals["age"].to_numpy() == originals.loc[counterfactuals["query"], "age"].to_numpy()).all()
    attributes_set = [len(cf["changes"]) for q in record["queries"] for cf in q["counterfactuals"] if cf["valid"]]
    assert np.mean(attributes_set) <= 2.0  # sparse: mostly the job, sometimes the hours too
    jobs = counterfactuals["job"].to_numpy()
    assert (jobs == "manager").mean() >= 0.9  # the change that explains this classifier


def test_the_ranking_puts_the_deciding_attribute_first(cli, table_setup, tmp_path):
    folder = table_setup
    result = cli("explain", folder / "plugin", "--classifier", folder / "rich.onnx", "--index", "0",
                    "--target-class", "yes", "--rank", "--rank-n", "60", "--out", tmp_path / "cf.csv",
                    "--json", tmp_path / "cf.json")
    ranking = json.loads((tmp_path / "cf.json").read_text())["ranking"]
    assert ranking[0]["name"] == "job" and ranking[0]["flip_rate"] > ranking[-1]["flip_rate"]
    assert (tmp_path / "cf_rank.png").is_file() and "ranking: job" in result.output


@pytest.mark.parametrize(("args", "message"), [
    (("--classifier", "wrong.onnx", "--index", "0"), "categorical columns"),
    (("--classifier", "rich.onnx", "--index", "0", "--target-class", "maybe"), "unknown target class 'maybe'"),
    (("--classifier", "rich.onnx", "--index", "0", "--freeze", "salary"), "unknown attribute 'salary'"),
    (("--classifier", "rich.onnx", "--index", "0", "--increase", "job"), "categories have no order"),
    (("--classifier", "rich.onnx", "--index", "100000"), "--index must be in 0.."),
])
def test_bad_input_is_a_one_line_error(cli, table_setup, tmp_path, args, message):
    folder = table_setup
    args = [folder / a if str(a).endswith(".onnx") else a for a in args]
    result = cli("explain", folder / "plugin", *args, "--out", tmp_path / "cf.csv", ok=False)
    assert result.exit_code != 0 and message in str(result.exception) and "\n" not in str(result.exception)


def test_faces_counterfactuals_of_a_condgen_classifier(cli, tmp_path):
    """The shipped oracle's 'hat' read-out, explained through the shipped six-attribute plugin."""
    indices = [arg for i in range(6) for arg in ("--index", str(i))]
    cli("explain", "faces-plugin", "--classifier", "faces-oracle", "--attribute", "hat", *indices, "-k", "2",
           "--freeze", "smiling", "--out", tmp_path / "cf.png", "--json", tmp_path / "cf.json")
    record = json.loads((tmp_path / "cf.json").read_text())
    searched = [q for q in record["queries"] if not q["already_in_target"]]
    flipped = [q for q in searched if any(cf["valid"] for cf in q["counterfactuals"])]
    assert len(flipped) / len(searched) >= 0.8
    for query in flipped:
        changed = [set(cf["changes"]) for cf in query["counterfactuals"] if cf["valid"]]
        assert all("smiling" not in c for c in changed) and any("hat" in c for c in changed)
    assert (tmp_path / "cf.png").stat().st_size > 10_000
    wrong = cli("explain", "faces-plugin", "--classifier", "faces-oracle", "--index", "0", "--out",
                   tmp_path / "x.png", ok=False)
    assert "say which one to explain with --attribute" in str(wrong.exception)


def test_faces_counterfactuals_of_an_onnx_classifier(cli, tmp_path):
    """A user's torch classifier exported to ONNX (here the oracle's hat read-out): one float input of images."""
    import warnings

    import torch

    import condgen

    oracle = condgen.load("faces-oracle").eval()
    column = oracle.schema.names.index("hat")

    class HatProbability(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.oracle = oracle

        def forward(self, x):
            p = torch.sigmoid(self.oracle.head_outputs(x)[:, column])
            return torch.stack([1 - p, p], dim=1)

    with warnings.catch_warnings():  # the legacy exporter's deprecation and tracer notices
        warnings.simplefilter("ignore")
        torch.onnx.export(HatProbability(), torch.zeros(1, 3, 32, 32), str(tmp_path / "hat.onnx"),
                          input_names=["images"], output_names=["probabilities"],
                          dynamic_axes={"images": {0: "n"}, "probabilities": {0: "n"}}, dynamo=False)
    indices = [arg for i in range(4) for arg in ("--index", str(i))]
    cli("explain", "faces-plugin", "--classifier", tmp_path / "hat.onnx", *indices, "-k", "1", "--out",
        tmp_path / "cf.png", "--json", tmp_path / "cf.json")
    record = json.loads((tmp_path / "cf.json").read_text())
    assert record["classes"] == ["0", "1"] and record["validity"] >= 0.75
    assert all("hat" in cf["changes"] for q in record["queries"] for cf in q["counterfactuals"] if cf["valid"])
