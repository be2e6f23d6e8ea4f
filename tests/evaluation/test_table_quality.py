"""Table quality with SDMetrics on tables whose answer is known by construction: a copy of the real rows, the
same rows with their columns shuffled apart, noise, and rows whose target was shuffled."""

import numpy as np
import pytest
import torch

from condgen.data.table_columns import TableColumn
from condgen.errors import ConfigError
from condgen.evaluation.table_quality import as_frame, sdmetrics_metadata, table_quality

pytest.importorskip("sdmetrics")

COLUMNS = [
    TableColumn("age", "integer"),
    TableColumn("income", "continuous"),
    TableColumn("job", "categorical", ("clerk", "manager", "worker")),
    TableColumn("rich", "categorical", ("no", "yes")),
]


def people(n: int, seed: int) -> torch.Tensor:
    """Stored rows: income grows with age, managers are older, ``rich`` = a manager earning over 60."""
    rng = np.random.default_rng(seed)
    age = rng.integers(20, 65, n)
    job = np.where(age > 45, 1, rng.choice([0, 2], n))
    income = 20 + 0.8 * age + 15 * (job == 1) + rng.normal(0, 5, n)
    rich = ((job == 1) & (income > 60)).astype(float)
    return torch.tensor(np.stack([age, income, job, rich], axis=1), dtype=torch.float32)


def shuffled_columns(rows: torch.Tensor, seed: int = 1) -> torch.Tensor:
    """Each column permuted on its own: every marginal kept, every dependence between columns broken."""
    generator = torch.Generator().manual_seed(seed)
    return torch.stack([column[torch.randperm(len(column), generator=generator)] for column in rows.T], dim=1)


@pytest.fixture(scope="module")
def real():
    return people(600, seed=0)


@pytest.fixture(scope="module")
def train():
    return people(600, seed=1)


def test_a_copy_of_the_real_rows_scores_one_on_shapes_and_trends(real):
    report = table_quality(COLUMNS, real, real.clone(), target="rich")
    assert report["column_shapes"]["mean"] == pytest.approx(1.0)
    assert {name: entry["metric"] for name, entry in report["column_shapes"]["columns"].items()} == {
        "age": "KSComplement", "income": "KSComplement", "job": "TVComplement", "rich": "TVComplement"}
    trends = report["column_pair_trends"]
    assert trends["mean"] == pytest.approx(1.0) and len(trends["pairs"]) == 6 and not trends["incomputable"]
    assert [pair["metric"] for pair in trends["pairs"]].count("CorrelationSimilarity") == 1  # age × income only
    assert report["detection"]["score"] > 0.9  # a copy cannot be told apart
    assert report["rows"] == {"real": 600, "synthetic": 600, "real_train": None}


def test_shuffled_columns_keep_the_shapes_but_lose_the_trends_and_the_target(real, train):
    copy = table_quality(COLUMNS, real, train, target="rich", real_train=train)
    shuffled = table_quality(COLUMNS, real, shuffled_columns(train), target="rich", real_train=train)
    assert shuffled["column_shapes"]["mean"] == pytest.approx(copy["column_shapes"]["mean"])  # same marginals
    assert copy["column_pair_trends"]["mean"] > 0.9  # two draws of the same table
    assert shuffled["column_pair_trends"]["mean"] < copy["column_pair_trends"]["mean"] - 0.1
    age_income = {tuple(p["columns"]): p["score"] for p in shuffled["column_pair_trends"]["pairs"]}[("age", "income")]
    assert age_income < 0.65  # correlation ≈ 0.9 in the real rows, ≈ 0 once shuffled: 1 − 0.9 / 2
    assert shuffled["tstr"]["synthetic"]["f1"] < copy["tstr"]["synthetic"]["f1"] - 0.4


def test_noise_scores_clearly_worse_on_every_view(real, train):
    rng = np.random.default_rng(3)
    noise = torch.tensor(np.stack([rng.integers(0, 100, 600), rng.normal(0, 50, 600), rng.integers(0, 3, 600),
                                   rng.integers(0, 2, 600)], axis=1), dtype=torch.float32)
    good = table_quality(COLUMNS, real, train, target="rich")
    bad = table_quality(COLUMNS, real, noise, target="rich")
    assert good["column_shapes"]["mean"] > 0.9 and bad["column_shapes"]["mean"] < 0.75
    assert bad["column_pair_trends"]["mean"] < good["column_pair_trends"]["mean"] - 0.3
    assert good["detection"]["score"] > 0.8 and bad["detection"]["score"] < 0.3


def test_tstr_on_informative_rows_beats_rows_whose_target_was_shuffled(real, train):
    labels_shuffled = train.clone()
    labels_shuffled[:, 3] = labels_shuffled[torch.randperm(600, generator=torch.Generator().manual_seed(0)), 3]
    informative = table_quality(COLUMNS, real, train, target="rich", real_train=train)["tstr"]
    shuffled = table_quality(COLUMNS, real, labels_shuffled, target="rich", real_train=train)["tstr"]
    assert informative["task"] == "classification" and informative["synthetic"]["positive_class"] == "yes"
    assert informative["synthetic"]["accuracy"] > 0.95 and informative["synthetic"]["f1"] > 0.9
    assert shuffled["synthetic"]["f1"] < 0.5 < informative["synthetic"]["f1"]
    assert shuffled["synthetic"]["accuracy"] < informative["synthetic"]["accuracy"] - 0.1
    # the real training rows are the same as the informative synthetic ones here: the same scores
    assert informative["real"] == informative["synthetic"]


def test_a_number_target_reports_r2_and_one_class_rows_predict_that_class(real, train):
    tstr = table_quality(COLUMNS, real, train, target="income")["tstr"]
    assert tstr["task"] == "regression" and tstr["synthetic"]["r2"] > 0.8
    nobody_rich = train.clone()
    nobody_rich[:, 3] = 0
    constant = table_quality(COLUMNS, real, nobody_rich, target="rich")["tstr"]["synthetic"]
    share_poor = float((real[:, 3] == 0).float().mean())
    assert constant["classes_in_training"] == 1 and constant["f1"] == 0.0
    assert constant["accuracy"] == pytest.approx(share_poor)


def test_agrees_with_sdmetrics_quality_report_and_repeats_for_a_seed(real, train):
    from sdmetrics.reports.single_table import QualityReport

    synthetic = shuffled_columns(train)
    ours = table_quality(COLUMNS, real, synthetic, seed=5)
    quality = QualityReport()
    quality.generate(as_frame(COLUMNS, real), as_frame(COLUMNS, synthetic), sdmetrics_metadata(COLUMNS),
                     verbose=False)
    properties = dict(quality.get_properties().to_numpy())
    assert ours["column_shapes"]["mean"] == pytest.approx(properties["Column Shapes"], abs=1e-12)
    details = quality.get_details("Column Pair Trends")
    theirs = {(a, b): score for a, b, score in details[["Column 1", "Column 2", "Score"]].to_numpy()}
    for pair in ours["column_pair_trends"]["pairs"]:
        kinds = {column.kind == "categorical" for column in COLUMNS if column.name in pair["columns"]}
        if len(kinds) == 1:  # two numbers or two categories: the very same metric call
            assert pair["score"] == pytest.approx(theirs[tuple(pair["columns"])], abs=1e-12)
    # a number paired with a category: the report bins each table on its own range, we bin both on the real
    # rows' range (ContingencySimilarity's own discretisation), so the means differ a little
    assert ours["column_pair_trends"]["mean"] == pytest.approx(properties["Column Pair Trends"], abs=0.01)
    assert ours["tstr"] is None
    again = table_quality(COLUMNS, real, synthetic, seed=5)
    assert again["detection"]["score"] == ours["detection"]["score"]


def test_a_constant_synthetic_column_is_listed_as_incomputable(real, train):
    constant_age = train.clone()
    constant_age[:, 0] = 40
    trends = table_quality(COLUMNS, real, constant_age)["column_pair_trends"]
    assert [entry["columns"] for entry in trends["incomputable"]] == [["age", "income"]]
    assert len(trends["pairs"]) == 5 and np.isfinite(trends["mean"])


def test_the_table_own_values_and_bad_input(real):
    frame = as_frame(COLUMNS, real[:3])
    assert list(frame.columns) == ["age", "income", "job", "rich"]
    assert frame["job"].dtype == object and set(frame["job"]) <= {"clerk", "manager", "worker"}
    assert frame["age"].dtype == np.int64
    with pytest.raises(ConfigError, match="target 'salary' is not a column"):
        table_quality(COLUMNS, real, real, target="salary")


def test_a_category_only_the_synthetic_rows_hold_is_scored(real, train):
    no_clerks = real[real[:, 2] != 0]  # the real rows hold no clerk; the synthetic ones do
    report = table_quality(COLUMNS, no_clerks, train, target="rich")
    assert report["column_shapes"]["columns"]["job"]["score"] < 0.8
    assert 0 <= report["detection"]["score"] < 0.9
