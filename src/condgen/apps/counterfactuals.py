"""Counterfactual explanations of a classifier through a fitted plugin.

A counterfactual of an example (latent ``z``) for a classifier and a target class is the same example with the
fewest attribute changes — blocks of the plugin's attribute coordinates ``u = f(z)`` overwritten with a new value's
target, the style kept — whose decoding the classifier puts in the target class: with probability ≥ ½ + margin
(two classes), or ahead of every other class by ``margin`` (more classes).

    sets = find_counterfactuals(plugin, z, classifier, target_class=1, freeze=["age"])
    sets[0].counterfactuals[0].changes  # {"smiling": ("no", "yes")}
    effects = rank_attributes(plugin, z, classifier, target_class=1)  # which attribute flips it most often

The searches themselves are in :mod:`condgen.apps.counterfactual_search`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from condgen.apps.counterfactual_search import (
    EVALUATION_BATCH,
    Candidate,
    Evaluator,
    Query,
    SearchOptions,
    beam_search,
    candidate_values,
    class_probabilities,
    decode_examples,
    gradient_search,
    pick_diverse,
    refine_style,
    target_margins,
)
from condgen.data.schema import Attribute
from condgen.errors import ConfigError, DataError, check_choice
from condgen.models.backbone import eval_mode
from condgen.plugin.plugin import Plugin
from condgen.progress import over_slices

#: Continuous candidates: the current value ± these many standard deviations.
CONTINUOUS_GRID = (0.5, 1.0, 1.5, 2.0, 3.0)
#: Non-valid candidates of one level that the beam search extends by one more change, per query.
BEAM_WIDTH = 8
METHODS = ("auto", "search", "gradient")

Classifier = Callable[[Any], Any] | torch.nn.Module


@dataclass
class Counterfactual:
    """One counterfactual of an example.

    Attributes:
        latent: its latent ``[D]``.
        example: its decoding in the modality's form (a tensor for vectors and images, a SMILES string).
        changes: ``{attribute: (old, new)}`` in readable values ("yes"/"no", category names, rounded numbers).
        probability: the classifier's probability of the target class for ``example``.
        valid: ``example`` is in the target class by the margin (checked again on ``example`` itself).
        style_shift: RMS change of the style coordinates: 0 (style kept) except from style refinement.
    """

    latent: torch.Tensor
    example: Any
    changes: dict[str, tuple[Any, Any]]
    probability: float
    valid: bool
    style_shift: float = 0.0


@dataclass
class CounterfactualSet:
    """The counterfactuals of one query.

    Attributes:
        latent: the query's latent ``[D]``; original: its decoding (modality's form).
        values: its attributes read back by the plugin (schema encoding); readable: the same, readable.
        probabilities: the classifier's class probabilities of ``original`` ``[C]``; target_class: the one asked for.
        in_target: the classifier already puts ``original`` in the target class (then no search is made).
        counterfactuals: up to ``k``, fewest changes first; fewer (or none) where the search found fewer.
    """

    latent: torch.Tensor
    original: Any
    values: dict[str, float]
    readable: dict[str, Any]
    probabilities: np.ndarray
    target_class: int
    in_target: bool
    counterfactuals: list[Counterfactual]


@dataclass
class AttributeEffect:
    """How often changing ``name`` alone (to any of its candidate values) puts examples in the target class
    (``flip_rate``), and the mean change of the target-class probability with its best value, over ``examples``
    examples outside the target class."""

    name: str
    flip_rate: float
    mean_probability_change: float
    examples: int


def readable_value(attribute: Attribute, value: float) -> Any:
    """A schema-encoded value as a user reads it: "yes"/"no", a category name, or a float of 4 significant digits."""
    if attribute.kind == "binary":
        return "yes" if value >= 0.5 else "no"
    if attribute.kind == "categorical":
        return attribute.categories[int(value)]
    return float(f"{value:.4g}")


def find_counterfactuals(plugin: Plugin, z: torch.Tensor, probabilities: Classifier, target_class: int | Sequence[int],
                         *, k: int = 4, margin: float = 0.1, freeze: Iterable[str] = (), increase: Iterable[str] = (),
                         decrease: Iterable[str] = (), max_changes: int = 3,
                         continuous_grid: Sequence[float] = CONTINUOUS_GRID, beam_width: int = BEAM_WIDTH,
                         style_steps: int = 0, method: str = "auto", generator: torch.Generator | None = None,
                         progress: bool = False, originals: Any = None,
                         keep: Iterable[str] = ()) -> list[CounterfactualSet]:
    """Up to ``k`` diverse counterfactuals of each of the ``B`` examples with latents ``z [B, D]``.

    Args:
        plugin: a fitted plugin with its backbone.
        probabilities: the plugin's outputs for a batch (``plugin.outputs(plugin.decode(z))``) → class probabilities
            ``[N, C]`` (numpy or tensor; ``[N]`` means P(class 1) of two). A ``torch.nn.Module`` differentiable
            through ``plugin.backbone.decode`` selects the gradient variant (``method="auto"``).
        target_class: the class wanted, one for all or one per query.
        k: counterfactuals per query; margin: see the module docstring.
        freeze: attributes that never change; increase / decrease: attributes that may only go up / down
            (continuous values, category index order, binary 0 → 1 / 1 → 0).
        max_changes: the most attributes changed at once; continuous_grid: continuous candidates, current ± these
            many stds (within the training range); beam_width: candidates extended per level and query.
        style_steps: generations of style refinement for queries no attribute change flips (0: none; see
            :func:`~condgen.apps.counterfactual_search.refine_style`); their counterfactuals have ``style_shift`` > 0.
        method: ``"search"`` (gradient-free beam search), ``"gradient"`` (needs a module), ``"auto"``.
        generator: random numbers of style refinement, gradient restarts and decoding (default seed 0).
        progress: a progress bar over the evaluated candidates.
        originals: the real examples behind ``z`` (the modality's form, ``[B, …]``). Given, the classifier judges
            them rather than their reconstructions, and a counterfactual is the original moved by what the edit
            changes in the decoding (:meth:`~condgen.data.modality.Modality.transfer_edit`: a table's untouched
            columns stay as they were). Not for the gradient method.
        keep: with ``originals``, parts of the original that stay as they are besides the frozen attributes (a
            table's columns: those outside the plugin's attributes, for counterfactuals that change only them).

    Returns one :class:`CounterfactualSet` per query. Each counterfactual is decoded and classified again before it
    is returned, and its ``valid`` flag is that check.
    """
    options = _options(plugin, k, margin, freeze, increase, decrease, max_changes, continuous_grid, beam_width,
                       style_steps)
    method = check_choice(method, METHODS, "method", owner="counterfactuals")
    if method == "gradient" and not isinstance(probabilities, torch.nn.Module):
        raise ConfigError("the gradient method needs the classifier as a torch.nn.Module; use method='search'")
    gradient = method == "gradient" or (method == "auto" and isinstance(probabilities, torch.nn.Module))
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    if gradient and originals is not None:
        raise ConfigError("anchoring counterfactuals on the originals works with the search method, not gradients")
    problem = _prepare(plugin, z, probabilities, target_class, options, generator, progress, originals, keep)
    evaluator, queries = problem.evaluator, problem.queries
    if gradient:
        found = gradient_search(evaluator, queries, options, probabilities, generator)
    else:
        found, closest = beam_search(evaluator, queries, options)
        if options.style_steps:
            stuck = [query for query in queries if not found[query.index]]
            found.update(refine_style(evaluator, stuck, closest, options, generator))
    chosen = [c for query in queries for c in pick_diverse(found.get(query.index, []), options.k)]
    results = _checked(plugin, evaluator, chosen, queries)
    searched = {query.index for query in queries}
    sets = []
    for index, values in enumerate(problem.values.tolist()):
        sets.append(CounterfactualSet(
            latent=problem.latents[index].cpu(), original=problem.originals[index],
            values=dict(zip(plugin.attributes, values, strict=True)),
            readable={a.name: readable_value(a, value) for a, value in zip(plugin.schema, values, strict=True)},
            probabilities=problem.probabilities[index], target_class=int(evaluator.targets[index]),
            in_target=index not in searched, counterfactuals=results.get(index, [])))
    return sets


def rank_attributes(plugin: Plugin, z: torch.Tensor, probabilities: Classifier, target_class: int | Sequence[int],
                    *, margin: float = 0.1, freeze: Iterable[str] = (), increase: Iterable[str] = (),
                    decrease: Iterable[str] = (), continuous_grid: Sequence[float] = CONTINUOUS_GRID,
                    generator: torch.Generator | None = None, progress: bool = False,
                    originals: Any = None, keep: Iterable[str] = ()) -> list[AttributeEffect]:
    """The effect of each attribute not frozen, changed alone, on the examples ``z [B, D]`` that the classifier puts
    outside the target class (options as in :func:`find_counterfactuals`), most decisive first: by flip rate, then
    by mean probability change (``originals``, ``keep``: anchored as in :func:`find_counterfactuals`). An example
    where an attribute has no candidate value counts as no flip, no change."""
    options = _options(plugin, 1, margin, freeze, increase, decrease, 1, continuous_grid, 1, 0)
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    problem = _prepare(plugin, z, probabilities, target_class, options, generator, progress, originals, keep)
    evaluator, queries = problem.evaluator, problem.queries
    if not queries:
        raise DataError("the classifier puts every example in the target class already; pass examples outside it")
    candidates = [Candidate(q.index, ((name, value),)) for q in queries for name, values in q.candidates.items()
                  for value in values]
    evaluator.evaluate(candidates)
    best: dict[tuple[int, str], tuple[bool, float]] = {}
    for candidate in candidates:
        key = (candidate.query, candidate.changes[0][0])
        flipped, probability = best.get(key, (False, -np.inf))
        best[key] = (flipped or candidate.valid, max(probability, candidate.probability))
    effects = []
    for name in (n for n in plugin.attributes if n not in options.freeze):
        flips, gains = [], []
        for query in queries:
            before = float(problem.probabilities[query.index, query.target])
            flipped, after = best.get((query.index, name), (False, before))
            flips.append(flipped)
            gains.append(after - before)
        effects.append(AttributeEffect(name, float(np.mean(flips)), float(np.mean(gains)), len(queries)))
    return sorted(effects, key=lambda e: (-e.flip_rate, -e.mean_probability_change))


# -- shared steps -----------------------------------------------------------------------------------------------
def _options(plugin: Plugin, k: int, margin: float, freeze, increase, decrease, max_changes: int,
             continuous_grid: Sequence[float], beam_width: int, style_steps: int) -> SearchOptions:
    """Checked :class:`SearchOptions` (a ConfigError names what is wrong and the valid choices)."""
    names = plugin.attributes
    chosen = {}
    for option, given in (("freeze", freeze), ("increase", increase), ("decrease", decrease)):
        given = [given] if isinstance(given, str) else list(given)
        chosen[option] = frozenset(check_choice(name, names, "attribute", owner=option) for name in given)
    for first, second in (("freeze", "increase"), ("freeze", "decrease"), ("increase", "decrease")):
        both = [name for name in names if name in chosen[first] & chosen[second]]
        if both:
            raise ConfigError(f"{', '.join(both)} cannot be both in {first} and in {second}; keep it in one of them")
    for what, value, low in (("k", k, 1), ("max_changes", max_changes, 1), ("beam_width", beam_width, 1),
                             ("style_steps", style_steps, 0)):
        if int(value) != value or value < low:
            raise ConfigError(f"{what} must be an integer ≥ {low}, got {value}")
    if not 0 <= margin < 1:
        raise ConfigError(f"margin must be in [0, 1), got {margin}")
    grid = tuple(float(d) for d in continuous_grid)
    if not grid or min(grid) <= 0:
        raise ConfigError(f"continuous_grid must be positive numbers of standard deviations, got {list(grid)}")
    return SearchOptions(int(k), float(margin), chosen["freeze"], chosen["increase"], chosen["decrease"],
                         int(max_changes), grid, int(beam_width), int(style_steps))


def _classifier(probabilities: Classifier) -> Callable[[Any], np.ndarray]:
    """``outputs → probabilities [N, C]`` (float64 numpy), checked; a module runs in eval mode without gradients."""
    if isinstance(probabilities, torch.nn.Module):
        module = probabilities
        place = next(itertools.chain(module.parameters(), module.buffers()), None)

        def call(outputs):
            with torch.no_grad(), eval_mode(module):
                return module(outputs.to(place.device) if place is not None else outputs)
    else:
        call = probabilities

    def classify(outputs) -> np.ndarray:
        p = class_probabilities(call(outputs)).detach().cpu().double().numpy()
        if p.ndim != 2 or len(p) != len(outputs):
            raise DataError(f"the classifier returned shape {list(p.shape)} for {len(outputs)} examples; it must "
                            "return class probabilities [N, C]")
        return p

    return classify


@dataclass
class _Problem:
    """What both entry points start from: the queries' latents ``[B, D]``, read-back values ``[B, K]``, decoded
    originals and their class probabilities ``[B, C]``, the evaluator, and the queries outside the target class."""

    latents: torch.Tensor
    values: torch.Tensor
    originals: Any
    probabilities: np.ndarray
    evaluator: Evaluator
    queries: list[Query]


def _prepare(plugin: Plugin, z: torch.Tensor, probabilities: Classifier, target_class, options: SearchOptions,
             generator: torch.Generator, progress: bool, originals: Any = None, keep: Iterable[str] = ()) -> _Problem:
    """Decode and classify the examples (the real ``originals``, when given: counterfactuals are then anchored on
    them), check the targets, and list the queries with their candidate values."""
    z = torch.as_tensor(z)
    if z.ndim != 2 or z.shape[1] != plugin.latent_dim:
        raise DataError(f"latents must have shape [B, {plugin.latent_dim}], got {list(z.shape)}")
    z = z.to(plugin.device, torch.float32)
    classify = _classifier(probabilities)
    decoded, original_probabilities = decode_examples(plugin, z, classify, generator)
    anchors = None
    if originals is not None:
        if len(originals) != len(z):
            raise DataError(f"{len(originals)} originals for {len(z)} latents")
        anchors = (originals, decoded, (*options.freeze, *keep))
        original_probabilities = classify(originals)
    else:
        originals = decoded
    targets = _targets(target_class, len(z), original_probabilities.shape[1])
    with torch.no_grad():
        coordinates, residual = plugin.flow_coordinates(z)
        u = plugin.flow(coordinates)[0]
        values = plugin.predict_values(z).cpu()
    evaluator = Evaluator(plugin, u, residual, classify, targets, options.margin, generator, progress, anchors)
    in_target = target_margins(original_probabilities, targets) >= options.margin
    queries = []
    for index in np.flatnonzero(~in_target):
        current = {a.name: float(values[index, i]) for i, a in enumerate(plugin.schema)}
        candidates = {a.name: candidate_values(a, current[a.name], options, plugin.prior.quantiles.get(a.name))
                      for a in plugin.schema}
        queries.append(Query(int(index), int(targets[index]), current, candidates))
    return _Problem(z, values, originals, original_probabilities, evaluator, queries)


def _targets(target_class, n: int, n_classes: int) -> np.ndarray:
    """The target class per query ``[n]``, checked against the classifier's ``n_classes``."""
    targets = np.full(n, target_class) if np.ndim(target_class) == 0 else np.asarray(list(target_class))
    if len(targets) != n:
        raise ConfigError(f"target_class has {len(targets)} entries for {n} examples; give one, or one per example")
    for target in targets:
        if int(target) != target or not 0 <= target < n_classes:
            raise ConfigError(f"target class {target} is outside the classifier's classes; choose 0..{n_classes - 1}")
    return targets.astype(int)


def _checked(plugin: Plugin, evaluator: Evaluator, chosen: list[Candidate],
             queries: list[Query]) -> dict[int, list[Counterfactual]]:
    """The chosen candidates decoded, classified again and described, per query."""
    if not chosen:
        return {}
    latents = torch.cat(over_slices(len(chosen), EVALUATION_BATCH, lambda part: evaluator.latents(chosen[part])))
    examples, probabilities = evaluator.examples(latents, chosen)
    targets = evaluator.targets[[c.query for c in chosen]]
    margins = target_margins(probabilities, targets)
    current = {query.index: query.current for query in queries}
    results: dict[int, list[Counterfactual]] = {}
    for row, candidate in enumerate(chosen):
        before = current[candidate.query]
        changes = {name: (readable_value(plugin.schema[name], before[name]), readable_value(plugin.schema[name], value))
                   for name, value in candidate.changes}
        results.setdefault(candidate.query, []).append(Counterfactual(
            latents[row].cpu(), examples[row], changes, float(probabilities[row, targets[row]]),
            bool(margins[row] >= evaluator.margin), candidate.style_shift))
    return results
