"""Tables: a user's CSV and the built-in tables read into rows, kinds, splits, and back out in their own values."""

import numpy as np
import pytest
import torch

from condgen.data import load_dataset
from condgen.data.builtin_tables import BUILTIN_TABLES, load_builtin_table
from condgen.data.table_columns import TableColumn, columns_of, parse_rows
from condgen.data.tables import split_rows
from condgen.errors import CondgenError, DataError
from condgen.tasks.datasets import export_table

CSV = """age,job,score,income
39,clerk,0.5,low
50,manager,1.25,high
38,clerk,-0.75,low
53,worker,2.0,high
28,manager,0.0,low
"""


@pytest.fixture
def table_csv(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(CSV)
    return path


def test_a_csv_becomes_rows_with_inferred_kinds_and_the_target_last(table_csv):
    dataset = load_dataset(str(table_csv), target="job")
    columns = columns_of(dataset.spec)
    assert [(c.name, c.kind) for c in columns] == [("age", "integer"), ("score", "continuous"),
                                                   ("income", "categorical"), ("job", "categorical")]
    assert columns[-1].categories == ("clerk", "manager", "worker")
    assert dataset.modality.name == "tables" and dataset.spec["target"] == "job"
    assert dataset.data[:, 0].tolist() == [39, 50, 38, 53, 28]
    assert dataset.data[:, 3].tolist() == [0, 1, 0, 2, 1]  # category indices
    assert torch.equal(dataset.data, dataset.attributes)  # every column is an attribute
    assert dataset.schema["score"].kind == "continuous" and dataset.schema["job"].kind == "categorical"
    assert dataset.schema["age"].mean == pytest.approx(41.6)


def test_rows_written_and_read_back_are_the_same_table(table_csv, tmp_path):
    dataset = load_dataset(str(table_csv), target="income")
    written = dataset.modality.write(dataset.data, tmp_path / "copy.csv")
    assert written.read_text().splitlines()[1] == "39,clerk,0.5,low"
    again = load_dataset(str(written), target="income")
    assert torch.equal(again.data, dataset.data)
    assert torch.equal(parse_rows(columns_of(dataset.spec), written), dataset.data)


@pytest.mark.parametrize(("text", "message"), [
    ("age,job\n39,clerk\n,manager\n", "row 2, column 'age' is empty"),
    ("age,job\n" + "".join(f"{i},{('clerk', 'pilot')[i % 2]}\n" for i in range(30)) + "forty,clerk\n",
     "'forty' is not a number"),
    ("age,job\n39,clerk\n40,pilot,extra\n", "not a readable table"),
    ("age\n39\n40\n", "at least two columns"),
    ("age,job\n", "no rows"),
])
def test_bad_rows_get_a_one_line_error_naming_the_cell(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=message) as error:
        load_dataset(str(path))
    assert "\n" not in str(error.value)


def test_skip_bad_drops_rows_with_empty_cells_and_says_how_many(tmp_path):
    path = tmp_path / "holes.csv"
    path.write_text("age,job\n39,clerk\n,manager\n41,worker\n")
    with pytest.warns(UserWarning, match="skipped 1 rows"):
        dataset = load_dataset(str(path), skip_bad=True)
    assert len(dataset) == 2


def test_an_unknown_target_names_the_columns(table_csv):
    with pytest.raises(CondgenError, match="unknown target column 'incme'; valid: age, job, score, income"):
        load_dataset(str(table_csv), target="incme")


def test_a_categorical_cell_outside_the_categories_names_the_cell(tmp_path):
    columns = [TableColumn("age", "integer"), TableColumn("job", "categorical", ("clerk", "manager"))]
    path = tmp_path / "query.csv"
    path.write_text("age,job\n40,pilot\n")
    with pytest.raises(DataError, match="row 1, column 'job': 'pilot' is not one of clerk, manager"):
        parse_rows(columns, path)


def test_the_held_out_split_is_fixed_and_disjoint():
    train, test = split_rows(100, seed=0)
    again_train, again_test = split_rows(100, seed=0)
    assert torch.equal(train, again_train) and torch.equal(test, again_test)
    assert len(test) == 20 and not set(train.tolist()) & set(test.tolist())
    official_train, official_test = split_rows(10, test_rows=3)
    assert official_test.tolist() == [7, 8, 9] and official_train.tolist() == list(range(7))


@pytest.mark.parametrize("name", list(BUILTIN_TABLES))
def test_each_builtin_table_has_its_published_rows_and_the_target_last(name):
    table = BUILTIN_TABLES[name]
    whole = load_builtin_table(name, split="all")
    assert len(whole) == table.rows and whole.data.shape[1] == table.columns
    assert whole.schema.names[-1] == table.target
    train, test = load_builtin_table(name), load_builtin_table(name, split="test")
    assert len(train) + len(test) == table.rows
    assert not torch.isnan(whole.data).any()


def test_adult_keeps_its_official_test_file_and_education_order():
    test = load_builtin_table("adult", split="test")
    assert len(test) == 16281
    education = columns_of(test.spec)[3]
    assert education.ordered and education.categories[0] == "Preschool" and education.categories[-1] == "Doctorate"
    income = columns_of(test.spec)[-1]
    assert income.categories == ("<=50K", ">50K")  # the test file's trailing '.' is gone


def test_export_writes_what_condgen_reads_back(tmp_path):
    path, rows = export_table("german-credit", tmp_path / "german.csv")
    assert rows == 1000
    read = load_dataset(str(path), target="credit")
    original = load_builtin_table("german-credit", split="all")
    assert np.array_equal(read.data.numpy(), original.data.numpy())
    with pytest.raises(CondgenError, match="unknown built-in table"):
        export_table("adlt", tmp_path / "x.csv")
