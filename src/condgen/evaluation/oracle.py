"""Which oracle judges a plugin: the one the user names, a shipped one where its data matches, else one trained now.

A shipped oracle judges a plugin when its recorded data spec describes the same data as the plugin's (for a
built-in generated set: the same set, size, modality and options — the number of examples and the seed only
pick which draws, and the held-out set is a fresh draw either way; for a user's data: the same spec), when it
predicts every evaluated attribute with the same kind and categories, and when it is not the classifier that
labelled the plugin's latents (the protocol needs a judge independent of the labeller).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from condgen.data.dataset import LabeledDataset
from condgen.data.registry import is_builtin_dataset
from condgen.progress import status

#: Shipped classifiers trained as evaluation oracles (another architecture and seed than any labeller).
SHIPPED_ORACLES = ("faces-oracle",)
#: Spec keys that only choose which examples of a built-in generated set are drawn, not what they look like.
DRAW_KEYS = frozenset({"n", "seed", "cache"})


@dataclass
class ChosenOracle:
    """The oracle of a report and where it came from (``source``: ``shipped faces-oracle``, ``given``, ``trained
    in this run``)."""

    model: Any
    source: str

    def describe(self) -> dict[str, Any]:
        """What the report's ``setup.oracle`` says about it."""
        return {"arch": self.model.config.arch, "source": self.source, "trained_on": "real training images",
                **({"training": dict(self.model.training_record)} if self.model.training_record else {})}


def data_mismatch(oracle_spec: Mapping[str, Any], data_spec: Mapping[str, Any]) -> str | None:
    """Why an oracle trained on ``oracle_spec`` cannot judge data ``data_spec`` (None: it can)."""
    generated = "path" not in data_spec and is_builtin_dataset(data_spec.get("name"))
    ignored = DRAW_KEYS if generated else frozenset()
    differences = sorted(key for key in (set(oracle_spec) | set(data_spec)) - ignored
                         if oracle_spec.get(key) != data_spec.get(key))
    if not differences:
        return None
    return "trained on other data (" + ", ".join(f"{key} {oracle_spec.get(key)!r}, not {data_spec.get(key)!r}"
                                                 for key in differences) + ")"


def attribute_mismatch(oracle_schema, schema, attributes: Sequence[str]) -> str | None:
    """Why an oracle with ``oracle_schema`` cannot judge ``attributes`` of ``schema`` (None: it can)."""
    missing = [name for name in attributes if name not in oracle_schema]
    if missing:
        return f"does not predict {', '.join(missing)}"
    other = [name for name in attributes if (oracle_schema[name].kind, tuple(oracle_schema[name].categories))
             != (schema[name].kind, tuple(schema[name].categories))]
    return f"reads {', '.join(other)} as another kind of attribute" if other else None


def same_weights(first, second) -> bool:
    """Whether two classifiers hold the same weights (the labeller of a plugin may be the shipped oracle)."""
    a, b = first.state_dict(), second.state_dict()
    return a.keys() == b.keys() and all(a[key].shape == b[key].shape and torch.equal(a[key], b[key]) for key in a)


def shipped_oracle(data_spec: Mapping[str, Any], schema, attributes: Sequence[str], labeller=None
                   ) -> tuple[ChosenOracle | None, list[str]]:
    """``(oracle, [])``: the first shipped oracle that may judge ``attributes`` (of ``schema``) on ``data_spec``
    (see the module docstring); ``(None, reasons)``: none may, each reason naming the oracle and why not."""
    from condgen.io import load, shipped_model, shipped_names

    reasons = []
    for name in SHIPPED_ORACLES:
        if shipped_model(name) is None:
            reasons.append(f"{name} is not installed (shipped: {', '.join(shipped_names()) or 'none'})")
            continue
        oracle = load(name)
        why = data_mismatch(oracle.data_spec, data_spec) or attribute_mismatch(oracle.schema, schema, attributes)
        if why is None and labeller is not None and same_weights(oracle, labeller):
            why = "labelled this plugin's latents, so it cannot judge it"
        if why is None:
            return ChosenOracle(oracle, f"shipped {name}"), []
        reasons.append(f"{name} {why}")
    return None, reasons


def choose_oracle(data_spec: Mapping[str, Any], train: LabeledDataset, schema, attributes: Sequence[str], *,
                  oracle=None, labeller=None, progress: bool = True) -> ChosenOracle:
    """The oracle that judges ``attributes`` (of ``schema``) on data ``data_spec``: ``oracle`` when given, else a
    shipped one that fits, else one trained now on ``train`` (:func:`~condgen.evaluation.classifiers.train_oracle`,
    with its own progress bar). Each case is said in one line."""
    if oracle is not None:
        status(f"oracle: the given classifier ({oracle.config.arch})", progress)
        return ChosenOracle(oracle, "given")
    shipped, reasons = shipped_oracle(data_spec, schema, attributes, labeller)
    if shipped is not None:
        model = shipped.model
        status(f"oracle: {shipped.source} ({model.config.arch}, seed {model.training_record.get('seed', '?')}, "
               f"trained on real {model.data_spec.get('name')} at {model.data_spec.get('size')} px)", progress)
        return shipped
    from condgen.evaluation.classifiers import ORACLE_STEPS, train_oracle

    status(f"oracle: no shipped one fits ({'; '.join(reasons)}); training one now on {len(train):,} real "
           f"examples: conv-wide, seed 1, {ORACLE_STEPS:,} steps (pass --oracle DIR to reuse one)", progress)
    return ChosenOracle(train_oracle(train, steps=ORACLE_STEPS, progress=progress), "trained in this run")
