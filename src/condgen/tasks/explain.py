"""``condgen explain``: counterfactual explanations of a classifier through a plugin, and attribute rankings.

Queries are rows of the plugin's held-out data (``--index``; the same split every run: a table's test part, a
built-in image set's held-out draw), a user's row CSV or an image file. Outputs: ``cf.csv`` (tables: per query
the original row and its counterfactuals in the table's own columns, with ``query``, ``kind``, the probability of
the target class and what changed) or ``cf.png`` (images: rows of original and counterfactuals, the changed
attributes under each), a JSON record, and for ``--rank`` a bar chart of how often each attribute alone flips the
decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from condgen.apps.classifier_adapters import ExplainedClassifier, load_classifier
from condgen.apps.counterfactuals import AttributeEffect, CounterfactualSet, find_counterfactuals, rank_attributes
from condgen.data import load_from_spec
from condgen.errors import ConfigError
from condgen.evaluation.report import HELD_OUT_SEED  # held-out draws of a built-in image set: never a training face
from condgen.plugin.plugin import Plugin

#: Examples a ranking is measured on unless told otherwise.
RANK_EXAMPLES = 100


@dataclass
class Explanation:
    """What ``condgen explain`` found: the sets of counterfactuals (one per query), the ranking (``--rank``),
    the classifier's class names and the target classes asked for."""

    sets: list[CounterfactualSet]
    classes: tuple[str, ...]
    queries: list[Any]
    ranking: list[AttributeEffect] | None = None


def held_out_examples(plugin: Plugin, indices: Sequence[int]) -> torch.Tensor:
    """Rows ``indices`` of the plugin's held-out data in network form: a table's ``test`` split, a built-in
    generated image set drawn with :data:`HELD_OUT_SEED`, otherwise the last tenth of the data (a seeded split)."""
    spec = dict(plugin.source_data_spec)
    if spec.get("modality") == "tables":
        dataset = load_from_spec({**spec, "split": "test", "n": None})
    elif "path" not in spec and spec.get("modality") == "images":
        dataset = load_from_spec({**spec, "seed": HELD_OUT_SEED, "n": max(max(indices) + 1, 64)}, labels=False)
    else:
        dataset = load_from_spec(spec, labels=False).split(0.9, seed=0)[1]
    bad = [i for i in indices if not 0 <= i < len(dataset)]
    if bad:
        raise ConfigError(f"--index must be in 0..{len(dataset) - 1} (the held-out examples), got {bad[0]}")
    return dataset.examples(torch.tensor(list(indices)))


def explain(plugin: Plugin, classifier, examples: torch.Tensor, *, target_class: str | None = None, k: int = 4,
            margin: float = 0.1, freeze: Sequence[str] = (), increase: Sequence[str] = (),
            decrease: Sequence[str] = (), max_changes: int = 3, attribute: str | None = None,
            rank_examples: torch.Tensor | None = None, anchored: bool = True, moves: str = "attributes",
            progress: bool = False) -> Explanation:
    """Counterfactuals of ``examples`` (network form) for ``classifier`` (an .onnx path, a condgen classifier
    directory with ``attribute``, or a callable); ``target_class`` a class name or index (default: the opposite of
    a binary classifier's current decision). ``rank_examples``: also rank the attributes on these. A table's target
    column, when the plugin controls it, is frozen unless a constraint names it. ``anchored``: a counterfactual is
    the example itself moved by what the edit changes in its decoding (a table's other columns stay as they are;
    :meth:`~condgen.data.modality.Modality.transfer_edit`), and the classifier judges the real example, not its
    reconstruction; ``False``: the decodings themselves. ``moves`` (anchored tables): ``"attributes"`` changes only
    the plugin's attribute columns; ``"coupled"`` also moves the other columns by what the edit changes in their
    decoding (the columns that go with the attributes on the model's manifold, and the small shifts of all others)."""
    modality = plugin.modality
    explained = load_classifier(classifier, modality, attribute)
    check_constraints(plugin, freeze, increase, decrease)
    target_column = getattr(modality, "target", None)
    if target_column in plugin.attributes and target_column not in [*freeze, *increase, *decrease]:
        freeze = [*freeze, target_column]  # the column the classifier predicts is the answer, not an explanation
    keep = anchored_columns_kept(plugin, moves)
    real = plugin.outputs(examples)
    targets = target_classes(explained, explained(real), target_class)
    z = plugin.encode(examples)
    sets = find_counterfactuals(plugin, z, explained, targets, k=k, margin=margin, freeze=freeze, increase=increase,
                                decrease=decrease, max_changes=max_changes, progress=progress,
                                originals=real if anchored else None, keep=keep)
    ranking = None
    if rank_examples is not None:
        rank_real = plugin.outputs(rank_examples)
        ranking = rank_attributes(plugin, plugin.encode(rank_examples), explained,
                                  target_classes(explained, explained(rank_real), target_class), margin=margin,
                                  freeze=freeze, increase=increase, decrease=decrease,
                                  originals=rank_real if anchored else None, keep=keep)
    return Explanation(sets, explained.classes, list(real), ranking)


MOVES = ("attributes", "coupled")


def anchored_columns_kept(plugin: Plugin, moves: str) -> list[str]:
    """The columns of a table that an anchored counterfactual keeps as they are for ``moves`` (none for other
    modalities: an image moves by the pixels the edit changes)."""
    from condgen.errors import check_choice

    check_choice(moves, MOVES, "value", owner="--moves")
    columns = [column.name for column in getattr(plugin.modality, "columns", ())]
    return [name for name in columns if name not in plugin.attributes] if moves == "attributes" else []


def target_classes(classifier: ExplainedClassifier, probabilities: np.ndarray, target: str | None) -> list[int]:
    """One target class per example: ``target`` (name or index) for all, or — without it — the class a binary
    classifier does not predict now."""
    if target is not None:
        return [classifier.class_index(target)] * len(probabilities)
    if probabilities.shape[1] != 2:
        raise ConfigError(f"{classifier.description} has {probabilities.shape[1]} classes "
                          f"({', '.join(classifier.classes)}): say which one is wanted with --target-class")
    return [int(1 - p.argmax()) for p in probabilities]


def check_constraints(plugin: Plugin, freeze: Sequence[str], increase: Sequence[str], decrease: Sequence[str]):
    """Unknown attributes get the plugin's error; ``--increase`` / ``--decrease`` of an unordered categorical
    attribute of a table (its category order means nothing) is a ConfigError."""
    for name in [*freeze, *increase, *decrease]:
        plugin.schema.index(name)
    modality = plugin.modality
    ordered = {c.name: c.ordered for c in getattr(modality, "columns", ()) if c.kind == "categorical"}
    for name in [*increase, *decrease]:
        if plugin.schema[name].kind == "categorical" and not ordered.get(name, False):
            raise ConfigError(f"{name}: its categories have no order, so it cannot only increase or decrease; "
                              "freeze it or leave it free")


# -- outputs -----------------------------------------------------------------------------------------------------
def describe_changes(changes: dict[str, tuple[Any, Any]]) -> str:
    """``"age 39 → 30; education HS-grad → Masters"``."""
    return "; ".join(f"{name} {old} → {new}" for name, (old, new) in changes.items())


def explanation_record(result: Explanation, plugin_dir: str, classifier: str, columns=None) -> dict[str, Any]:
    """The JSON record of an explanation (no tensors): per query the target, the original's probabilities and
    readable attributes, and each counterfactual's changes, probability and validity (tables, ``columns``: also
    the columns that differ from the original)."""
    queries = []
    for index, (cf_set, original) in enumerate(zip(result.sets, result.queries, strict=True)):
        queries.append({
            "query": index, "target_class": result.classes[cf_set.target_class],
            "original_probabilities": dict(zip(result.classes, map(float, cf_set.probabilities), strict=True)),
            "already_in_target": cf_set.in_target, "attributes": cf_set.readable,
            "counterfactuals": [{"changes": {name: list(pair) for name, pair in cf.changes.items()},
                                 "probability": cf.probability, "valid": cf.valid, "style_shift": cf.style_shift,
                                 **({"columns_changed": {name: list(pair) for name, pair in
                                                         changed_columns(columns, original, cf.example).items()}}
                                    if columns is not None else {})}
                                for cf in cf_set.counterfactuals]})
    found = [s for s in result.sets if not s.in_target]
    record: dict[str, Any] = {
        "plugin": plugin_dir, "classifier": classifier, "classes": list(result.classes), "queries": queries,
        "validity": float(np.mean([any(c.valid for c in s.counterfactuals) for s in found])) if found else None,
        "mean_changes": float(np.mean([len(c.changes) for s in found for c in s.counterfactuals if c.valid]))
        if any(c.valid for s in found for c in s.counterfactuals) else None}
    if result.ranking is not None:
        record["ranking"] = [vars(effect) for effect in result.ranking]
    return record


def changed_columns(columns, original, counterfactual) -> dict[str, tuple[Any, Any]]:
    """``{column: (original value, counterfactual value)}`` of the table columns that differ (readable values)."""
    from condgen.data.table_columns import readable_rows

    before, after = readable_rows(columns, torch.stack([torch.as_tensor(original), torch.as_tensor(counterfactual)]))
    return {c.name: (b, a) for c, b, a in zip(columns, before, after, strict=True) if b != a}


def write_table_counterfactuals(plugin: Plugin, result: Explanation, path: str | Path) -> Path:
    """``cf.csv``: per query its original row, then its counterfactuals, in the table's own columns; ``changed``
    lists the columns that differ from the original, ``attributes`` the plugin attributes the search set."""
    from condgen.data.table_columns import write_table

    columns = plugin.modality.columns
    rows, query, kind, probability, changed, attributes = [], [], [], [], [], []
    for index, (cf_set, original) in enumerate(zip(result.sets, result.queries, strict=True)):
        entries = [(original, "original", float(cf_set.probabilities[cf_set.target_class]), "", "")]
        entries += [(cf.example, "counterfactual" if cf.valid else "counterfactual (not valid)", cf.probability,
                     describe_changes(changed_columns(columns, original, cf.example)), describe_changes(cf.changes))
                    for cf in cf_set.counterfactuals]
        for row, what, p, columns_text, attributes_text in entries:
            rows.append(torch.as_tensor(row).double())
            query.append(index)
            kind.append(what)
            probability.append(round(p, 4))
            changed.append(columns_text)
            attributes.append(attributes_text)
    target = [result.classes[s.target_class] for s in result.sets for _ in range(1 + len(s.counterfactuals))]
    extra = {"query": query, "kind": kind, "target_class": target, "p_target": probability, "changed": changed,
             "attributes_set": attributes}
    return write_table(columns, torch.stack(rows), path, extra)


def write_image_counterfactuals(result: Explanation, path: str | Path) -> Path:
    """``cf.png``: one row per query — original, then its counterfactuals, the changes written under each."""
    from condgen.viz import save_captioned_rows

    rows, captions = [], []
    for cf_set, original in zip(result.sets, result.queries, strict=True):
        target = result.classes[cf_set.target_class]
        images = [torch.as_tensor(original)] + [torch.as_tensor(cf.example) for cf in cf_set.counterfactuals]
        texts = [f"original\np({target}) {cf_set.probabilities[cf_set.target_class]:.2f}"]
        texts += [f"{describe_changes(cf.changes).replace('; ', chr(10))}\np({target}) {cf.probability:.2f}"
                  + ("" if cf.valid else " ✗") for cf in cf_set.counterfactuals]
        rows.append(images)
        captions.append(texts)
    return save_captioned_rows(rows, captions, path)


def write_ranking_chart(ranking: Sequence[AttributeEffect], path: str | Path, target: str) -> Path:
    """A bar chart: for each attribute, how often changing it alone flips the decision (to ``target``)."""
    from condgen.viz import save_bar_chart

    return save_bar_chart([e.name for e in ranking], [e.flip_rate for e in ranking], path,
                          xlabel=f"share of examples flipped to {target} by changing it alone",
                          notes=[f"Δp {e.mean_probability_change:+.2f}" for e in ranking])
