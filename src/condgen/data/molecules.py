"""SMILES data sets for the engine: token ids as examples, molecular properties as attributes.

:func:`smiles_dataset` turns SMILES strings into a :class:`LabeledDataset` whose ``data`` is
``int64 [N, max_length]`` token ids (``<bos> … <eos> <pad>…``) and whose attributes are chosen
molecular properties (continuous; RDKit's logP, QED, SAS, TPSA, MolWt, or a user's own function).
The vocabulary travels in ``spec["tokens"]`` so that models store it in their artifacts.

Built-in name ``moses`` (the MOSES training split, from the molsets wheel) and ``.smi`` / ``.csv``
files load through :func:`condgen.data.load_dataset`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from condgen.data.dataset import LabeledDataset
from condgen.data.schema import Attribute, AttributeSchema
from condgen.data.smiles import Vocabulary, read_smiles_file, tokenize
from condgen.errors import ConfigError, DataError

#: Attribute name → RDKit property of :mod:`condgen.data.chem.properties`.
MOLECULE_PROPERTIES = {"logp": "logP", "qed": "QED", "sas": "SAS", "tpsa": "TPSA", "molwt": "MolWt"}
PROPERTY_DESCRIPTIONS = {
    "logp": "Crippen logP (RDKit)", "qed": "QED drug-likeness (RDKit)", "sas": "synthetic accessibility (1 easy … 10)",
    "tpsa": "topological polar surface area (Å²)", "molwt": "molecular weight (Da)",
}
#: A user's property: a function of a list of SMILES returning one float per SMILES (NaN = unknown).
PropertyFunction = Callable[[list[str]], Sequence[float]]


def property_values(smiles: Sequence[str], properties: Sequence[str] | Mapping[str, str | PropertyFunction],
                    n_jobs: int = 1) -> dict[str, np.ndarray]:
    """Attribute name → ``float64 [N]`` values of ``smiles``.

    ``properties`` lists built-in names (``logp``, ``qed``, ``sas``, ``tpsa``, ``molwt``) or maps an
    attribute name to a built-in name or to a function ``list[str] -> [N] floats`` (e.g. a model of
    activity on a protein).
    """
    from condgen.data.chem.properties import compute_properties

    wanted = dict(properties) if isinstance(properties, Mapping) else {name: name for name in properties}
    builtin = {}
    values: dict[str, np.ndarray] = {}
    for name, source in wanted.items():
        if callable(source):
            result = np.asarray(source(list(smiles)), dtype=np.float64).reshape(-1)
            if result.shape[0] != len(smiles):
                raise DataError(f"property {name!r}: the function returned {result.shape[0]} values for "
                                f"{len(smiles)} SMILES; return one per SMILES")
            values[name] = result
        elif str(source).lower() in MOLECULE_PROPERTIES:
            builtin[name] = MOLECULE_PROPERTIES[str(source).lower()]
        else:
            raise ConfigError(f"unknown molecular property {source!r}; choose from {sorted(MOLECULE_PROPERTIES)} "
                              "or pass a function of a list of SMILES")
    if builtin:
        computed = compute_properties(smiles, sorted(set(builtin.values())), n_jobs=n_jobs)
        values.update({name: computed[rdkit_name] for name, rdkit_name in builtin.items()})
    return {name: values[name] for name in wanted}


def smiles_dataset(smiles: Sequence[str], tokens: Sequence[str] | None = None,
                   properties: Sequence[str] | Mapping[str, str | PropertyFunction] = (),
                   max_length: int | None = None, spec: dict[str, Any] | None = None,
                   n_jobs: int = 1) -> LabeledDataset:
    """A :class:`LabeledDataset` of token ids ``int64 [N, L]`` with property attributes ``[N, K]``.

    Args:
        smiles: the molecules (valid SMILES; see :func:`condgen.data.smiles.read_smiles_file`).
        tokens: a fixed vocabulary (a model's); molecules with a token outside it, or longer than
            ``max_length``, are skipped and counted in one warning. None builds one from ``smiles``.
        properties: attribute names (or name → property/function), see :func:`property_values`.
        max_length: tokens per row with ``<bos>``/``<eos>`` (default: the longest molecule).
        spec: how to rebuild this data set (stored in artifacts); ``tokens`` is added to it.
        n_jobs: processes for the RDKit properties.
    """
    smiles = list(smiles)
    if not smiles:
        raise DataError("no SMILES to build a data set from")
    vocabulary = Vocabulary(tuple(tokens)) if tokens is not None else Vocabulary.build(smiles)
    known = set(vocabulary.tokens)
    kept, skipped, first = [], 0, ""
    for s in smiles:
        pieces = tokenize(s)
        if any(t not in known for t in pieces) or (max_length is not None and len(pieces) + 2 > max_length):
            skipped += 1
            first = first or s
            continue
        kept.append(s)
    if skipped:
        from condgen.data.readers import SkippedRowsWarning

        reason = "tokens outside the vocabulary" if max_length is None else "tokens outside the vocabulary or too long"
        warnings.warn(f"skipped {skipped} of {len(smiles)} SMILES ({reason}; first: {first!r})",
                      SkippedRowsWarning, stacklevel=2)
    if not kept:
        raise DataError("no SMILES left after skipping those the vocabulary cannot encode")
    ids = torch.from_numpy(vocabulary.encode_batch(kept, max_length))
    values = property_values(kept, properties, n_jobs) if properties else {}
    attributes = torch.from_numpy(np.stack(list(values.values()), axis=1)).float() if values else \
        torch.zeros(len(kept), 0)
    schema = AttributeSchema(tuple(
        Attribute(name, "continuous", description=PROPERTY_DESCRIPTIONS.get(name, "user property"))
        for name in values))
    spec = {**(spec or {}), "modality": "smiles", "tokens": list(vocabulary.tokens), "max_length": int(ids.shape[1])}
    if properties:
        spec["properties"] = [n for n in values if n in MOLECULE_PROPERTIES]
    return LabeledDataset(ids, attributes, schema.with_statistics(attributes), spec)


def dataset_smiles(dataset: LabeledDataset) -> list[str]:
    """The SMILES strings of a data set built by :func:`smiles_dataset`."""
    if "tokens" not in dataset.spec:
        raise DataError(f"{dataset.name} is not a SMILES data set")
    return Vocabulary(tuple(dataset.spec["tokens"])).decode_batch(dataset.data.numpy())


def load_moses(n: int | None = None, seed: int = 0, split: str = "train", tokens: Sequence[str] | None = None,
               properties: Sequence[str] = (), max_length: int | None = None, n_jobs: int = 1,
               **options) -> LabeledDataset:
    """The MOSES split ``split`` (or a random ``n`` of it, by ``seed``) as a SMILES data set."""
    from condgen.data.moses import moses_split

    if options:
        raise ConfigError(f"unknown option(s) {sorted(options)} for moses; valid: split, tokens, properties, "
                          "max_length, n_jobs")
    spec = {"name": "moses", "split": split, "n": n, "seed": seed}
    return smiles_dataset(moses_split(split, n, seed), tokens, properties, max_length, spec, n_jobs)


def load_smiles_file(path, n: int | None = None, seed: int = 0, column: str | None = None,
                     tokens: Sequence[str] | None = None, properties: Sequence[str] = (),
                     max_length: int | None = None, skip_bad: bool = True, n_jobs: int = 1,
                     **options) -> LabeledDataset:
    """A ``.smi`` / ``.txt`` / ``.csv`` file (optionally ``.gz``) as a SMILES data set; invalid SMILES
    are skipped and counted once (``skip_bad=False``: an error naming the line)."""
    if options:
        raise ConfigError(f"unknown option(s) {sorted(options)} for a SMILES file; valid: column, tokens, "
                          "properties, max_length")
    smiles = read_smiles_file(path, column=column, skip_invalid=skip_bad)
    if not smiles:
        raise DataError(f"{path}: no valid SMILES in it")
    if n is not None and n < len(smiles):
        chosen = np.sort(np.random.default_rng(seed).choice(len(smiles), size=n, replace=False))
        smiles = [smiles[i] for i in chosen]
    spec = {"name": str(path), "path": str(path), "n": n, "seed": seed, **({"column": column} if column else {})}
    return smiles_dataset(smiles, tokens, properties, max_length, spec, n_jobs)
