"""Counterfactual explanations of table classifiers: condgen's plugin against DiCE (``dice-ml``).

    python benchmarks/counterfactuals.py            # writes benchmarks/results/counterfactuals.{json,md,png}
    python benchmarks/counterfactuals.py --quick    # 10 queries per table and classifier: a smoke run

DiCE is a benchmark-only dependency: ``pip install --no-deps dice-ml raiutils`` and ``pip install jsonschema``.

Protocol. For Adult (income ``<=50K`` → ``>50K``) and German credit (``bad`` → ``good``), the table's train split
fits two classifiers — scikit-learn's HistGradientBoostingClassifier and an MLPClassifier, each in a Pipeline
whose ColumnTransformer scales the number columns (StandardScaler) and one-hot encodes the categories
(OneHotEncoder, unknown ones ignored) of all feature columns (all but the target). The queries are the first
``--queries`` test-split rows that the classifier puts in the unfavourable class (German's test split is 200
rows, so it has fewer), the same for every method. The one fitted pipeline serves condgen (a wrapper: stored rows →
frame of the table's own values → ``predict_proba``) and DiCE (backend ``sklearn``).

* condgen: :func:`condgen.tasks.explain.explain` through the shipped plugin (``adult-plugin``: age, education,
  hours_per_week, marital_status; ``german-plugin``: age, duration, credit_amount, savings, checking_account),
  k = 4, default options, all queries in one call, twice: ``moves="attributes"`` (the default: anchored on the
  query, only the plugin's attribute columns change) and ``moves="coupled"`` (the other columns also move by
  what the edit changes in their decoding).
* DiCE ``random``, ``genetic`` and ``kdtree``, k = 4, one query per call (a query DiCE raises on counts as
  none found), with ``features_to_vary`` = the plugin's attributes (equal freedom) and — random only, by default
  (``--all-features``: the genetic method takes ~6 s a query on Adult) — all features.
  DiCE's defaults, except the per-query budget in :data:`DICE_BUDGET` (stated in the report).

Every counterfactual is checked again with the classifier (valid: the classifier's decision is the target
class). Over the valid ones, in the feature columns, with train-split medians and MADs (a MAD of 0 — Adult's
capital gain and loss — falls back to the standard deviation): proximity (MAD-scaled L1 over number columns;
share of categorical columns changed), sparsity (columns changed), diversity (mean pairwise distance among a
query's valid counterfactuals, distance = MAD-scaled L1 + categorical mismatches), plausibility — yNN (share of
the 5 nearest train rows, in the space of one-hot categories and MAD-scaled numbers, that the classifier puts in
the target class) and a LocalOutlierFactor (novelty, 20 neighbours) fitted on the train rows in that space (mean
``score_samples``; share of inliers) —, columns changed outside those allowed to vary (DiCE:
its ``features_to_vary``; condgen: its attributes, or all for "coupled") and outside the plugin's attributes,
and wall seconds per query.

Targets (the issue's): condgen's validity (share of queries with a valid counterfactual) ≥ 0.95, and condgen's yNN
above every DiCE method's (same attributes to vary) at equal or better sparsity. Nothing is tuned on the queries.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import sklearn  # noqa: E402
import torch  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: E402
from sklearn.neighbors import LocalOutlierFactor, NearestNeighbors  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, StandardScaler  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

import condgen  # noqa: E402
from common import RESULTS, provenance  # noqa: E402
from condgen.data import load_dataset  # noqa: E402
from condgen.data.table_columns import TableColumn, readable_rows  # noqa: E402
from condgen.io import atomic_write_bytes, atomic_write_json  # noqa: E402
from condgen.tasks.explain import explain  # noqa: E402

#: Per table: the plugin option, the favourable class (the target of every query) and the plugin's attributes.
TABLES = {"adult": ("adult_plugin", ">50K"), "german-credit": ("german_plugin", "good")}
K = 4
DICE_METHODS = ("random", "genetic", "kdtree")
#: DiCE's per-query budget where it differs from its defaults (genetic: 500 generations; random and kdtree: a
#: linear post-hoc sparsity search of up to 10,000 steps per feature). See --dice-budget.
DICE_BUDGET = {"genetic": {"maxiterations": 100},
               "random": {"posthoc_sparsity_algorithm": "binary"}, "kdtree": {"posthoc_sparsity_algorithm": "binary"}}
NEIGHBOURS, LOF_NEIGHBOURS = 5, 20


# -- the tables and their values -------------------------------------------------------------------------------
@dataclass
class Table:
    """A built-in table's columns, its train and test rows (stored form ``[N, C]``, target last) and frames."""

    name: str
    columns: list[TableColumn]
    train: np.ndarray
    test: np.ndarray
    favourable: str

    @property
    def features(self) -> list[TableColumn]:
        return self.columns[:-1]

    @property
    def target(self) -> TableColumn:
        return self.columns[-1]

    def frame(self, rows: np.ndarray) -> pd.DataFrame:
        """Rows ``[N, F or C]`` as a frame of the feature columns in the table's own values (what
        :func:`~condgen.data.table_columns.readable_rows` gives, vectorised: the classifiers see many rows)."""
        data = {}
        for j, column in enumerate(self.features):
            values = rows[:, j].astype(np.float64)
            if column.kind == "categorical":
                index = np.clip(np.round(values), 0, len(column.categories) - 1).astype(int)
                data[column.name] = np.asarray(column.categories, dtype=object)[index]
            elif column.kind == "integer":
                data[column.name] = np.round(values).astype(np.int64)
            else:
                data[column.name] = values
        return pd.DataFrame(data)

    def rows(self, frame: pd.DataFrame) -> np.ndarray:
        """A frame of feature values (DiCE's answers) as stored feature rows ``[N, F]``."""
        out = np.zeros((len(frame), len(self.features)))
        for j, column in enumerate(self.features):
            if column.kind == "categorical":
                out[:, j] = [column.categories.index(str(value)) for value in frame[column.name]]
            else:
                out[:, j] = frame[column.name].astype(float)
        return out

    def labels(self, rows: np.ndarray) -> np.ndarray:
        """1 where the target column of stored rows is the favourable class."""
        return (rows[:, -1].round() == self.target.categories.index(self.favourable)).astype(int)


def load_table(name: str, favourable: str) -> Table:
    """The train and test splits of a built-in table (the splits the plugin was fitted and queried on)."""
    train, test = load_dataset(name, split="train"), load_dataset(name, split="test")
    columns = [TableColumn.from_dict(entry) for entry in train.spec["columns"]]
    table = Table(name, columns, train.data.double().numpy(), test.data.double().numpy(), favourable)
    sample = table.train[:200]
    expected = [row[:-1] for row in readable_rows(columns, sample)]
    assert table.frame(sample).values.tolist() == expected, "the vectorised conversion differs from readable_rows"
    return table


# -- classifiers -----------------------------------------------------------------------------------------------
def fit_classifiers(table: Table) -> dict[str, Pipeline]:
    """The two pipelines, fitted on the train split (label 1: the favourable class)."""
    numeric = [c.name for c in table.features if c.kind != "categorical"]
    categorical = [c.name for c in table.features if c.kind == "categorical"]
    estimators = {"gradient boosting": HistGradientBoostingClassifier(random_state=0),
                  "MLP": MLPClassifier(hidden_layer_sizes=(64, 64), max_iter=300, early_stopping=True,
                                       random_state=0)}
    fitted = {}
    for name, estimator in estimators.items():
        encode = ColumnTransformer([("numbers", StandardScaler(), numeric),
                                    ("categories", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                                     categorical)])
        fitted[name] = Pipeline([("encode", encode), ("classify", estimator)]).fit(
            table.frame(table.train), table.labels(table.train))
    return fitted


def condgen_classifier(table: Table, pipeline: Pipeline):
    """The pipeline as condgen calls a classifier: stored rows ``[N, C]`` → probabilities ``[N, 2]``."""
    def probabilities(rows: torch.Tensor) -> np.ndarray:
        return pipeline.predict_proba(table.frame(torch.as_tensor(rows).double().numpy()))

    return probabilities


# -- the normalised space the metrics live in ------------------------------------------------------------------
class Space:
    """Feature rows ``[N, F]`` as MAD-scaled numbers and one-hot categories, and the distances between them."""

    def __init__(self, table: Table):
        features = table.features
        self.numeric = [j for j, c in enumerate(features) if c.kind != "categorical"]
        self.categorical = [j for j, c in enumerate(features) if c.kind == "categorical"]
        self.widths = [len(features[j].categories) for j in self.categorical]
        numbers = table.train[:, self.numeric]
        self.median = np.median(numbers, axis=0)
        mad = np.median(np.abs(numbers - self.median), axis=0)
        std = numbers.std(axis=0)
        self.scale = np.where(mad > 0, mad, np.where(std > 0, std, 1.0))

    def embed(self, rows: np.ndarray) -> np.ndarray:
        """``[N, numbers + one-hot width]``."""
        parts = [(rows[:, self.numeric] - self.median) / self.scale]
        for j, width in zip(self.categorical, self.widths, strict=True):
            parts.append(np.eye(width)[np.clip(rows[:, j].round().astype(int), 0, width - 1)])
        return np.concatenate(parts, axis=1)

    def numeric_l1(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return (np.abs(a[..., self.numeric] - b[..., self.numeric]) / self.scale).sum(axis=-1)

    def mismatches(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return (a[..., self.categorical].round() != b[..., self.categorical].round()).sum(axis=-1)

    def changed(self, original: np.ndarray, counterfactuals: np.ndarray) -> np.ndarray:
        """``[N, F]`` booleans: which feature columns differ from ``original [F]``."""
        changed = np.abs(counterfactuals - original) > 1e-6 * np.maximum(1.0, np.abs(original))
        changed[:, self.categorical] = counterfactuals[:, self.categorical].round() != original[self.categorical]
        return changed


@dataclass
class Judge:
    """What scores counterfactuals on one table for one classifier: the space, the train rows' neighbours and
    labels (yNN), the outlier model."""

    space: Space
    neighbours: NearestNeighbors
    train_labels: np.ndarray
    outliers: LocalOutlierFactor


# -- the methods -----------------------------------------------------------------------------------------------
def run_condgen(plugin, table: Table, pipeline: Pipeline, queries: np.ndarray,
                moves: str) -> tuple[list[np.ndarray], float]:
    """condgen's counterfactuals (feature rows ``[k_i, F]`` per query) and the seconds per query."""
    started = time.perf_counter()
    result = explain(plugin, condgen_classifier(table, pipeline), torch.from_numpy(queries).float(),
                     target_class="1", k=K, moves=moves)
    seconds = (time.perf_counter() - started) / len(queries)
    found = [np.stack([torch.as_tensor(cf.example).double().numpy()[:-1] for cf in s.counterfactuals])
             if s.counterfactuals else np.zeros((0, len(table.features))) for s in result.sets]
    return found, seconds


def dice_explainer(table: Table, pipeline: Pipeline, method: str):
    import dice_ml

    frame = table.frame(table.train)
    frame[table.target.name] = table.labels(table.train)
    data = dice_ml.Data(dataframe=frame, outcome_name=table.target.name,
                        continuous_features=[c.name for c in table.features if c.kind != "categorical"])
    return dice_ml.Dice(data, dice_ml.Model(model=pipeline, backend="sklearn"), method=method)


def run_dice(table: Table, pipeline: Pipeline, method: str, queries: np.ndarray, vary: list[str] | str,
             budget: dict) -> tuple[list[np.ndarray], float, dict[str, int]]:
    """DiCE's counterfactuals per query (one call each), the seconds per query and the failures by error type."""
    explainer = dice_explainer(table, pipeline, method)
    options = {"random_seed": 0} if method == "random" else {}
    found, failures, started = [], {}, time.perf_counter()
    random.seed(0)
    np.random.seed(0)  # the genetic method draws from the global generators
    for row in queries:
        try:
            result = explainer.generate_counterfactuals(table.frame(row[None]), total_CFs=K, desired_class=1,
                                                        features_to_vary=vary, verbose=False,
                                                        **options, **budget.get(method, {}))
            answer = result.cf_examples_list[0]
            cfs = answer.final_cfs_df_sparse if answer.final_cfs_df_sparse is not None else answer.final_cfs_df
        except Exception as error:  # DiCE raises when it finds none (and on some inputs besides)
            failures[type(error).__name__] = failures.get(type(error).__name__, 0) + 1
            cfs = None
        found.append(table.rows(cfs) if cfs is not None and len(cfs) else np.zeros((0, len(table.features))))
    return found, (time.perf_counter() - started) / len(queries), failures


# -- scores ----------------------------------------------------------------------------------------------------
def score(found: list[np.ndarray], queries: np.ndarray, table: Table, pipeline: Pipeline, judge: Judge,
          allowed: set[str], attributes: set[str]) -> dict:
    """The metrics of one method's counterfactuals of ``queries [Q, C]`` (see the module docstring)."""
    space, names = judge.space, [c.name for c in table.features]
    returned = sum(len(f) for f in found)
    valid_sets = []
    for cfs in found:
        valid = pipeline.predict(table.frame(cfs)) == 1 if len(cfs) else np.zeros(0, bool)
        valid_sets.append(cfs[valid])
    rows = [(query[:-1], cf) for query, cfs in zip(queries, valid_sets, strict=True) for cf in cfs]
    record = {"queries": len(queries), "returned_per_query": returned / len(queries),
              "validity": float(np.mean([len(v) > 0 for v in valid_sets])),
              "cf_validity": sum(len(v) for v in valid_sets) / returned if returned else None}
    if not rows:
        return record
    originals, cfs = np.stack([o for o, _ in rows]), np.stack([c for _, c in rows])
    changed = np.stack([space.changed(o, c[None])[0] for o, c in rows])
    outside_allowed = changed[:, [n not in allowed for n in names]].sum(axis=1)
    outside_attributes = changed[:, [n not in attributes for n in names]]
    embedded = space.embed(cfs)
    neighbours = judge.neighbours.kneighbors(embedded, NEIGHBOURS, return_distance=False)
    diversity = [np.mean([space.numeric_l1(a, b) + space.mismatches(a, b) for i, a in enumerate(v) for b in v[i + 1:]])
                 for v in valid_sets if len(v) > 1]
    record.update({
        "valid_counterfactuals": len(cfs),
        "proximity_numeric_l1": float(space.numeric_l1(originals, cfs).mean()),
        "categorical_mismatch": float((space.mismatches(originals, cfs) / max(1, len(space.categorical))).mean()),
        "sparsity": float(changed.sum(axis=1).mean()),
        "diversity": float(np.mean(diversity)) if diversity else None,
        "ynn": float((judge.train_labels[neighbours] == 1).mean()),
        "lof_score": float(judge.outliers.score_samples(embedded).mean()),
        "lof_inliers": float((judge.outliers.predict(embedded) == 1).mean()),
        "outside_allowed": float(outside_allowed.mean()),
        "outside_allowed_share": float((outside_allowed > 0).mean()),
        "outside_attributes": float(outside_attributes.sum(axis=1).mean()),
        "outside_attribute_columns": {n: int(c) for n, c in zip([n for n in names if n not in attributes],
                                                                 outside_attributes.sum(axis=0), strict=True) if c}})
    return record


def targets(rows: dict[str, dict]) -> dict:
    """The issue's targets for one table and classifier: validity ≥ 0.95; yNN above every DiCE method's with
    the same attributes to vary, at equal or better sparsity (a method without a valid counterfactual is beaten)."""
    ours = rows["condgen"]
    comparisons = {}
    for method, row in rows.items():
        if method.startswith("condgen") or "(all)" in method:
            continue
        beaten = row.get("ynn") is None or (ours.get("ynn") is not None and ours["ynn"] > row["ynn"]
                                           and ours["sparsity"] <= row["sparsity"])
        comparisons[method] = beaten
    return {"validity_at_least_0.95": ours["validity"] >= 0.95, "ynn_beats_dice": comparisons,
            "ynn_target": all(comparisons.values())}


# -- one table -------------------------------------------------------------------------------------------------
def measure_table(name: str, plugin_path: str, favourable: str, args) -> dict:
    table = load_table(name, favourable)
    plugin = condgen.load(plugin_path)
    assert [c.name for c in plugin.modality.columns] == [c.name for c in table.columns], "plugin of another table"
    attributes = set(plugin.attributes)
    space = Space(table)
    train_embedded = space.embed(table.train[:, :-1])
    started = time.perf_counter()
    neighbours = NearestNeighbors().fit(train_embedded)
    outliers = LocalOutlierFactor(n_neighbors=LOF_NEIGHBOURS, novelty=True).fit(train_embedded)
    print(f"{name}: neighbour index and outlier model in {time.perf_counter() - started:.0f} s", flush=True)
    record = {"plugin": plugin_path, "attributes": list(plugin.attributes), "train_rows": len(table.train),
              "test_rows": len(table.test), "favourable": favourable, "classifiers": {}}
    for classifier_name, pipeline in fit_classifiers(table).items():
        test_labels = pipeline.predict(table.frame(table.test))
        queries = table.test[np.flatnonzero(test_labels == 0)[:args.queries]]
        judge = Judge(space, neighbours, pipeline.predict(table.frame(table.train)), outliers)
        query_embedded = space.embed(queries[:, :-1])
        entry = {"test_accuracy": float((test_labels == table.labels(table.test)).mean()),
                 "queries": len(queries), "query_lof_inliers": float((outliers.predict(query_embedded) == 1).mean()),
                 "methods": {}}
        for label, moves in (("condgen", "attributes"), ("condgen (coupled)", "coupled")):
            found, seconds = run_condgen(plugin, table, pipeline, queries, moves)
            allowed = attributes if moves == "attributes" else {c.name for c in table.features}
            entry["methods"][label] = {**score(found, queries, table, pipeline, judge, allowed, attributes),
                                       "seconds_per_query": seconds}
            print(name, classifier_name, label, entry["methods"][label], flush=True)
        for method in DICE_METHODS:
            settings = [(f"DiCE {method}", [c.name for c in table.features if c.name in attributes])]
            if method in args.all_features:
                settings.append((f"DiCE {method} (all)", "all"))
            for label, vary in settings:
                found, seconds, failures = run_dice(table, pipeline, method, queries, vary, args.budget)
                allowed = attributes if vary != "all" else {c.name for c in table.features}
                entry["methods"][label] = {**score(found, queries, table, pipeline, judge, allowed, attributes),
                                           "seconds_per_query": seconds, "failures": failures}
                print(name, classifier_name, label, entry["methods"][label], flush=True)
        entry["targets"] = targets(entry["methods"])
        record["classifiers"][classifier_name] = entry
    return record


# -- the report ------------------------------------------------------------------------------------------------
def cell(value, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def markdown(record: dict) -> str:
    budget = "; ".join(f"{m}: {', '.join(f'{k}={v}' for k, v in o.items())}" for m, o in record["dice_budget"].items())
    lines = ["## Counterfactual explanations on tables: condgen vs DiCE (counterfactuals.json)", "",
             *__doc__.split("\n\n", 3)[3].strip().splitlines(), "",
             f"k = {K}; yNN with {NEIGHBOURS} neighbours; DiCE {record['dice_version']}, budget per query: "
             f"{budget or 'its defaults'}. “(all)”: DiCE may vary every feature; otherwise the plugin's attributes. "
             "Proximity, sparsity, diversity and plausibility are over valid counterfactuals; a method with none "
             "shows –. kdtree's answers are train rows, which sit among their own neighbours (yNN, LOF).", ""]
    for name, table in record["tables"].items():
        for classifier, entry in table["classifiers"].items():
            goals = entry["targets"]
            lines += [f"### {name}, {classifier} (test accuracy {entry['test_accuracy']:.3f}; {entry['queries']} "
                      f"queries, LOF inliers among them {entry['query_lof_inliers']:.2f})", "",
                      "| method | validity | CF validity | CFs / query | num. L1 | cat. mismatch | sparsity | "
                      "diversity | yNN | LOF score | LOF inliers | outside allowed | outside attributes | s / query |",
                      "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
            for method, r in entry["methods"].items():
                lines.append(
                    f"| {method} | {cell(r['validity'], 2)} | {cell(r.get('cf_validity'), 2)} | "
                    f"{r['returned_per_query']:.2f} | {cell(r.get('proximity_numeric_l1'), 2)} | "
                    f"{cell(r.get('categorical_mismatch'))} | {cell(r.get('sparsity'), 2)} | "
                    f"{cell(r.get('diversity'), 2)} | {cell(r.get('ynn'))} | {cell(r.get('lof_score'), 2)} | "
                    f"{cell(r.get('lof_inliers'), 2)} | {cell(r.get('outside_allowed'), 2)} | "
                    f"{cell(r.get('outside_attributes'), 2)} | {r['seconds_per_query']:.2f} |")
            ours = entry["methods"]["condgen"].get("outside_attribute_columns", {})
            beaten = ", ".join(f"{m} {'yes' if ok else 'no'}" for m, ok in goals["ynn_beats_dice"].items())
            lines += ["", f"Targets: validity ≥ 0.95 **{'met' if goals['validity_at_least_0.95'] else 'not met'}**; "
                      f"yNN above every DiCE method at equal or better sparsity **"
                      f"{'met' if goals['ynn_target'] else 'not met'}** ({beaten}). condgen's columns changed outside "
                      f"its attributes (valid counterfactuals): "
                      f"{', '.join(f'{c} {n}' for c, n in ours.items()) or 'none'}.", ""]
    p = record["provenance"]
    lines += [f"Runtime {record['seconds'] / 60:.1f} min. `{p['command']}` — commit {p['commit']}, {p['machine']}, "
              f"{p['date']}.", ""]
    return "\n".join(lines)


def figure(record: dict, path: Path) -> None:
    """Validity, yNN and sparsity per method, one row per table, one bar per classifier."""
    metrics = (("validity", "validity"), ("ynn", "yNN"), ("sparsity", "columns changed"))
    tables = record["tables"]
    fig, axes = plt.subplots(len(tables), len(metrics), figsize=(13, 3.4 * len(tables)), squeeze=False)
    for row, (name, table) in enumerate(tables.items()):
        classifiers = list(table["classifiers"])
        methods = list(table["classifiers"][classifiers[0]]["methods"])
        for column, (key, title) in enumerate(metrics):
            axis = axes[row, column]
            for i, classifier in enumerate(classifiers):
                values = [table["classifiers"][classifier]["methods"][m].get(key) for m in methods]
                axis.bar(np.arange(len(methods)) + 0.4 * i - 0.2, [np.nan if v is None else v for v in values],
                         width=0.4, label=classifier)
            axis.set_xticks(np.arange(len(methods)), [m.replace("DiCE ", "") for m in methods], rotation=45,
                            ha="right", fontsize=8)
            axis.set_title(f"{name}: {title}", fontsize=10)
            if key == "validity":
                axis.axhline(0.95, color="grey", linestyle=":", linewidth=1)
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adult-plugin", default="adult-plugin")
    parser.add_argument("--german-plugin", default="german-plugin")
    parser.add_argument("--queries", type=int, default=100, help="unfavourable test rows per table and classifier")
    parser.add_argument("--quick", action="store_true", help="10 queries: a smoke run")
    parser.add_argument("--tables", default=",".join(TABLES))
    parser.add_argument("--dice-budget", choices=("reduced", "defaults"), default="reduced",
                        help="reduced: DICE_BUDGET (fewer genetic generations, binary post-hoc sparsity search)")
    parser.add_argument("--all-features", default="random",
                        help="DiCE methods also run with every feature free to vary (comma-separated)")
    parser.add_argument("--out", default=str(RESULTS / "counterfactuals"), help="path of the results, no suffix")
    args = parser.parse_args()
    args.queries = 10 if args.quick else args.queries
    args.budget = DICE_BUDGET if args.dice_budget == "reduced" else {}
    args.all_features = set(filter(None, args.all_features.split(",")))
    warnings.filterwarnings("ignore")  # DiCE and scikit-learn warn per call about feature names and dtypes
    sklearn.set_config(assume_finite=True)  # the per-call input checks dominate DiCE's one-row predictions
    from importlib.metadata import version

    started = time.perf_counter()
    record = {"k": K, "dice_version": version("dice-ml"), "dice_budget": args.budget, "tables": {}}
    out = Path(args.out)
    for name in args.tables.split(","):
        option, favourable = TABLES[name]
        record["tables"][name] = measure_table(name, getattr(args, option), favourable, args)
        record["seconds"] = time.perf_counter() - started
        record["provenance"] = provenance()
        atomic_write_json(out.with_suffix(".json"), record)  # after each table: a long run keeps what it measured
        atomic_write_bytes(out.with_suffix(".md"), markdown(record).encode())
        figure(record, out.with_suffix(".png"))
    print(f"wrote {out}.{{json,md,png}} in {record['seconds'] / 60:.1f} min")


if __name__ == "__main__":
    main()
