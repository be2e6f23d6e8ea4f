"""The search strategies behind :mod:`condgen.apps.counterfactuals`, all in the plugin's coordinates ``u = f(z)``.

A candidate is a query (one example) plus a set of attribute changes: each changed attribute's block of ``u`` is
overwritten with the target of its new value (as :meth:`~condgen.plugin.Plugin.edit_latent` does), the style and the
other attributes are kept. :class:`Evaluator` decodes and classifies candidates :data:`EVALUATION_BATCH` at a time.

* :func:`beam_search`: all single changes, then pairs and triples grown from the best non-valid candidates.
* :func:`refine_style`: an evolutionary search over the style coordinates for queries that stay out of reach.
* :func:`gradient_search`: gradient descent on the attribute coordinates through a differentiable classifier.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from condgen.data.schema import Attribute
from condgen.models.backbone import backbone_device, eval_mode
from condgen.plugin.plugin import Plugin
from condgen.progress import over_slices

#: Latents decoded and classified at once (and rows optimised at once by the gradient variant).
EVALUATION_BATCH = 512
#: A continuous change smaller than this many standard deviations counts as no change.
NEGLIGIBLE_CHANGE = 0.25
#: Style refinement: parents kept per query, children per parent, mutation σ, and the fitness cost of style shift.
STYLE_PARENTS, STYLE_CHILDREN, STYLE_MUTATION, STYLE_COST = 4, 4, 0.3, 0.1
#: Gradient variant: Adam steps and learning rate, L1 weight on the coordinate change, noise of restarts 2…k.
GRADIENT_STEPS, GRADIENT_LR, GRADIENT_L1, RESTART_NOISE = 150, 0.05, 0.05, 0.5

Change = tuple[str, float]  # (attribute, new value in schema encoding)


@dataclass(frozen=True)
class SearchOptions:
    """Validated options of a search (see :func:`condgen.apps.counterfactuals.find_counterfactuals`)."""

    k: int
    margin: float
    freeze: frozenset[str]
    increase: frozenset[str]
    decrease: frozenset[str]
    max_changes: int
    continuous_grid: tuple[float, ...]
    beam_width: int
    style_steps: int


@dataclass
class Query:
    """One example to explain: its row in the batch, its target class, its current attribute values (schema
    encoding) and the new values each attribute may take (empty: the attribute cannot change)."""

    index: int
    target: int
    current: dict[str, float]
    candidates: dict[str, list[float]]


@dataclass
class Candidate:
    """A query with ``changes`` (in schema order) and, from style refinement only, new style coordinates ``[S]``;
    ``probability`` and ``valid`` are set by :meth:`Evaluator.evaluate`."""

    query: int
    changes: tuple[Change, ...]
    style: torch.Tensor | None = None
    style_shift: float = 0.0
    probability: float = float("nan")
    valid: bool = False


def candidate_values(attribute: Attribute, current: float, options: SearchOptions,
                     quantiles: Sequence[float] | None) -> list[float]:
    """New values (schema encoding) that ``attribute`` may take from ``current``: the other binary class, each other
    category, or the continuous grid ``current ± d·std`` clipped to ``quantiles`` (standardised range seen in
    training); ``increase`` / ``decrease`` keep only larger / smaller ones (category index order); frozen: none."""
    name = attribute.name
    if name in options.freeze:
        return []
    if attribute.kind == "binary":
        values = [1.0 - round(current)]
    elif attribute.kind == "categorical":
        values = [float(k) for k in range(attribute.width) if k != int(current)]
    else:
        steps = sorted({sign * d for d in options.continuous_grid for sign in (-1, 1)})
        values = [current + step * attribute.std for step in steps]
        if quantiles:
            low, high = quantiles[0] * attribute.std + attribute.mean, quantiles[-1] * attribute.std + attribute.mean
            values = [min(max(v, low), high) for v in values]
        values = [v for v in dict.fromkeys(round(v, 9) for v in values)
                  if abs(v - current) >= NEGLIGIBLE_CHANGE * attribute.std]
    if name in options.increase:
        values = [v for v in values if v > current]
    if name in options.decrease:
        values = [v for v in values if v < current]
    return values


def target_margins(probabilities: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """How far each row of ``probabilities [N, C]`` is inside its target class ``targets [N]``: ``p_t − ½`` for two
    classes, ``p_t − max_{j≠t} p_j`` for more; a row is in the target class by ``margin`` when this is ≥ margin."""
    rows = np.arange(len(targets))
    chosen = probabilities[rows, targets]
    if probabilities.shape[1] == 2:
        return chosen - 0.5
    others = probabilities.copy()
    others[rows, targets] = -np.inf
    return chosen - others.max(axis=1)


def class_probabilities(raw: Any) -> torch.Tensor:
    """A classifier's answer as probabilities ``[N, C]``; ``[N]`` or ``[N, 1]`` means P(class 1) of two classes."""
    p = raw if isinstance(raw, torch.Tensor) else torch.as_tensor(np.asarray(raw, dtype=np.float64))
    if p.ndim == 1 or p.shape[1] == 1:
        p = p.reshape(-1, 1)
        p = torch.cat([1 - p, p], dim=1)
    return p


class Evaluator:
    """Builds, decodes and classifies the candidates of a batch of queries.

    Args:
        plugin: the fitted plugin (with its backbone).
        u: the queries' coordinates ``[B, k]``; residual: what a projection leaves outside them ``[B, D]`` (or None).
        classify: the plugin's outputs for a batch → probabilities ``[N, C]`` (numpy).
        targets: target class per query ``[B]``; margin: see :func:`target_margins`.
        generator: passed to the backbone's decoding; progress: a bar over the evaluated candidates.
        anchors: ``(originals, reconstructions, frozen)``: the queries in the modality's form and the frozen
            attributes, or None. With anchors a candidate is the original moved by what the edit changes in the
            decoding (:meth:`~condgen.data.modality.Modality.transfer_edit`; a table's frozen columns kept as
            they are), not the decoding itself.
    """

    def __init__(self, plugin: Plugin, u: torch.Tensor, residual: torch.Tensor | None,
                 classify: Callable[[Any], np.ndarray], targets: np.ndarray, margin: float,
                 generator: torch.Generator | None, progress: bool, anchors: tuple[Any, Any] | None = None):
        self.plugin, self.u, self.residual, self.classify = plugin, u, residual, classify
        self.anchors = anchors
        self.targets, self.margin, self.generator, self.progress = targets, margin, generator, progress
        self.width = plugin.prior.width
        self.order = {name: i for i, name in enumerate(plugin.attributes)}
        self._target_coordinates: dict[Change, torch.Tensor] = {}

    def _outputs(self, z: torch.Tensor, candidates: Sequence[Candidate]) -> Any:
        return self.anchored(self.plugin.outputs(self.plugin.decode(z, generator=self.generator)), candidates)

    def anchored(self, decoded: Any, candidates: Sequence[Candidate]) -> Any:
        """Decodings of ``candidates`` (one per row), moved onto their queries' originals when anchored (the
        attributes each one changes always move)."""
        if self.anchors is None:
            return decoded
        originals, reconstructions, frozen = self.anchors
        queries = [c.query for c in candidates]
        return self.plugin.modality.transfer_edit(originals[queries], reconstructions[queries], decoded, keep=frozen,
                                                  set_parts=[[name for name, _ in c.changes] for c in candidates])

    def canonical(self, changes) -> tuple[Change, ...]:
        """``changes`` in schema order (so that equal sets compare equal)."""
        return tuple(sorted(changes, key=lambda change: self.order[change[0]]))

    def coordinates(self, candidates: Sequence[Candidate]) -> torch.Tensor:
        """``u`` of each candidate ``[N, k]``: its query's, with changed blocks (and style) overwritten."""
        rows = self.u[[c.query for c in candidates]].clone()
        for row, candidate in enumerate(candidates):
            for change in candidate.changes:
                if change not in self._target_coordinates:
                    self._target_coordinates[change] = self.plugin.prior.target(*change).to(rows)
                rows[row, self.plugin.prior.slices[change[0]]] = self._target_coordinates[change]
            if candidate.style is not None:
                rows[row, self.width:] = candidate.style
        return rows

    @torch.no_grad()
    def latents(self, candidates: Sequence[Candidate]) -> torch.Tensor:
        """Latents ``[N, D]`` of the candidates."""
        residual = None if self.residual is None else self.residual[[c.query for c in candidates]]
        return self.plugin.latents_from(self.plugin.flow.inverse(self.coordinates(candidates))[0], residual)

    def examples(self, z: torch.Tensor, candidates: Sequence[Candidate]) -> tuple[Any, np.ndarray]:
        """The examples of latents ``z [N, D]`` (of ``candidates``) in the modality's form, and their class
        probabilities ``[N, C]``."""
        candidates = list(candidates)
        return decode_examples(self.plugin, z, self.classify, self.generator,
                               transfer=lambda rows, decoded: self.anchored(decoded, candidates[rows]))

    @torch.no_grad()
    def evaluate(self, candidates: Sequence[Candidate]) -> None:
        """Set each candidate's target-class ``probability`` and ``valid`` flag (decoded and classified in batches)."""
        if not candidates:
            return
        parts = over_slices(len(candidates), EVALUATION_BATCH,
                            lambda part: self.classify(self._outputs(self.latents(candidates[part]),
                                                                     candidates[part])),
                            self.progress,
                            "counterfactuals")
        probabilities = np.concatenate(parts)
        targets = self.targets[[c.query for c in candidates]]
        margins = target_margins(probabilities, targets)
        for row, candidate in enumerate(candidates):
            candidate.probability = float(probabilities[row, targets[row]])
            candidate.valid = bool(margins[row] >= self.margin)


@torch.no_grad()
def decode_examples(plugin: Plugin, z: torch.Tensor, classify: Callable[[Any], np.ndarray],
                    generator: torch.Generator | None,
                    transfer: Callable[[slice, Any], Any] | None = None) -> tuple[Any, np.ndarray]:
    """Decodings of latents ``z [N, D]`` in the modality's form (through ``transfer(rows, decoded)`` when given),
    and their class probabilities ``[N, C]``, decoded :data:`EVALUATION_BATCH` at a time."""
    def part(rows: slice) -> tuple[Any, np.ndarray]:
        outputs = plugin.outputs(plugin.decode(z[rows], generator=generator))
        if transfer is not None:
            outputs = transfer(rows, outputs)
        return outputs, classify(outputs)

    parts = over_slices(len(z), EVALUATION_BATCH, part)
    outputs = [outputs for outputs, _ in parts]
    joined = torch.cat(outputs) if plugin.modality is None else plugin.modality.concatenate(outputs)
    return joined, np.concatenate([p for _, p in parts])


def _by_query(candidates: Sequence[Candidate]) -> dict[int, list[Candidate]]:
    grouped: dict[int, list[Candidate]] = {}
    for candidate in candidates:
        grouped.setdefault(candidate.query, []).append(candidate)
    return grouped


def beam_search(evaluator: Evaluator, queries: Sequence[Query],
                options: SearchOptions) -> tuple[dict[int, list[Candidate]], dict[int, list[Candidate]]]:
    """Valid candidates per query with the fewest changes, and the closest non-valid ones (best first).

    Level 1 tries every single change; level L + 1 extends the ``beam_width`` non-valid level-L candidates of
    highest target probability by one more attribute, skipping sets that contain a valid one (not minimal). A query
    stops at the first level where it has ``k`` valid candidates; all stop at ``max_changes``. The candidates of all
    queries of a level are evaluated in one batched pass.
    """
    found: dict[int, list[Candidate]] = {q.index: [] for q in queries}
    closest: dict[int, list[Candidate]] = {q.index: [] for q in queries}
    frontier: dict[int, list[tuple[Change, ...]]] = {q.index: [()] for q in queries}
    for _ in range(options.max_changes):
        proposals = []
        for query in queries:
            if len(found[query.index]) >= options.k:
                continue
            valid_sets = [set(c.changes) for c in found[query.index]]
            seen = set()
            for base in frontier[query.index]:
                used = {name for name, _ in base}
                for name, values in query.candidates.items():
                    for value in values if name not in used else ():
                        changes = evaluator.canonical(base + ((name, value),))
                        if changes not in seen and not any(v <= set(changes) for v in valid_sets):
                            seen.add(changes)
                            proposals.append(Candidate(query.index, changes))
        if not proposals:
            break
        evaluator.evaluate(proposals)
        for index, level in _by_query(proposals).items():
            found[index] += [c for c in level if c.valid]
            missed = sorted((c for c in level if not c.valid), key=lambda c: -c.probability)
            frontier[index] = [c.changes for c in missed[:options.beam_width]]
            closest[index] = sorted(closest[index] + missed[:STYLE_PARENTS], key=lambda c: -c.probability)
    return found, closest


def refine_style(evaluator: Evaluator, queries: Sequence[Query], closest: dict[int, list[Candidate]],
                 options: SearchOptions, generator: torch.Generator) -> dict[int, list[Candidate]]:
    """Valid candidates found by moving the style of queries that attribute changes alone do not flip.

    An evolution of ``style_steps`` generations: the parents are the query's closest candidates (or the unchanged
    example), each has :data:`STYLE_CHILDREN` children whose style coordinates are the parent's plus
    :data:`STYLE_MUTATION`·N(0, I), and the :data:`STYLE_PARENTS` fittest of parents and children (target probability
    minus :data:`STYLE_COST` × RMS style shift from the original) go on. A query stops at the first generation with a
    valid child; its valid children are returned, their ``style_shift`` set.
    """
    width = evaluator.width
    if evaluator.u.shape[1] == width:  # no style coordinates to move
        return {}
    start = {q.index: evaluator.u[q.index, width:] for q in queries}
    population = {q.index: [replace(c, style=start[q.index]) for c in closest.get(q.index, [])[:STYLE_PARENTS]]
                  or [Candidate(q.index, (), style=start[q.index])] for q in queries}
    found: dict[int, list[Candidate]] = {}
    for _ in range(options.style_steps):
        children = []
        for index, parents in population.items():
            for parent in parents:
                for _ in range(STYLE_CHILDREN):
                    noise = torch.randn(parent.style.shape, generator=generator).to(parent.style)
                    style = parent.style + STYLE_MUTATION * noise
                    shift = float((style - start[index]).pow(2).mean().sqrt())
                    children.append(Candidate(index, parent.changes, style=style, style_shift=shift))
        evaluator.evaluate(children)
        for index, offspring in _by_query(children).items():
            valid = [c for c in offspring if c.valid]
            if valid:
                found[index] = valid
                del population[index]
            else:
                pool = population[index] + offspring
                population[index] = sorted(pool, key=lambda c: STYLE_COST * c.style_shift - c.probability)[
                    :STYLE_PARENTS]
        if not population:
            break
    return found


def _coordinate_bounds(plugin: Plugin, queries: Sequence[Query], u: torch.Tensor,
                       options: SearchOptions) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-query bounds ``[B, width]`` on the change of the attribute coordinates: 0 for attributes that cannot
    change; binary and categorical coordinates within [-1, 1] (the box of their targets; a binary one only towards
    the other class, a new category is checked after snapping); continuous within the training range and in the
    allowed direction."""
    width = plugin.prior.width
    lower, upper = torch.full((len(queries), width), -torch.inf), torch.full((len(queries), width), torch.inf)
    for row, query in enumerate(queries):
        for attribute in plugin.schema:
            block, name = plugin.prior.slices[attribute.name], attribute.name
            start = u[row, block].cpu()
            if not query.candidates[name]:
                lower[row, block] = upper[row, block] = 0.0
            elif attribute.kind != "continuous":  # within the targets' box [-1, 1], off it the flow extrapolates
                lower[row, block], upper[row, block] = (-1.0 - start).clamp(max=0.0), (1.0 - start).clamp(min=0.0)
                if attribute.kind == "binary":
                    (lower if query.current[name] < 0.5 else upper)[row, block] = 0.0
            else:
                table = plugin.prior.quantiles.get(name)
                if table:
                    lower[row, block] = (table[0] - start).clamp(max=0.0)
                    upper[row, block] = (table[-1] - start).clamp(min=0.0)
                if name in options.increase:
                    lower[row, block] = 0.0
                if name in options.decrease:
                    upper[row, block] = 0.0
    return lower, upper


def _snap(plugin: Plugin, query: Query, start: torch.Tensor, end: torch.Tensor,
          options: SearchOptions) -> list[Change]:
    """The changes that optimised attribute coordinates ``end [width]`` make from ``start [width]``: binary by the
    sign, categorical by the largest coordinate, continuous unless negligible; the ``max_changes`` largest."""
    sized = []
    for attribute in plugin.schema:
        name, block = attribute.name, plugin.prior.slices[attribute.name]
        if not query.candidates[name]:
            continue
        size = float((end[block] - start[block]).norm())
        if attribute.kind == "binary":
            new = float(end[block][0] > 0)
        elif attribute.kind == "categorical":
            new = float(end[block].argmax())
        else:
            new = float(end[block][0]) * attribute.std + attribute.mean
            if size < NEGLIGIBLE_CHANGE:
                continue
        if attribute.kind == "continuous" or (new != query.current[name] and new in query.candidates[name]):
            sized.append((size, (name, new)))
    return [change for _, change in sorted(sized, key=lambda item: -item[0])[:options.max_changes]]


def gradient_search(evaluator: Evaluator, queries: Sequence[Query], options: SearchOptions,
                    module: torch.nn.Module, generator: torch.Generator) -> dict[int, list[Candidate]]:
    """Valid candidates per query from optimising the attribute coordinates through a differentiable classifier.

    ``k`` restarts per query (the first from the example, the others from it plus :data:`RESTART_NOISE`·N(0, I)):
    Adam minimises ``−log p_target(module(backbone.decode(z))) + GRADIENT_L1·|Δc|₁`` over the attribute coordinates
    ``c`` within :func:`_coordinate_bounds`. Each result snaps to discrete changes (:func:`_snap`); those and each of
    them with one change reverted are evaluated like search candidates, and a valid set is dropped when one of its
    valid subsets is there too (sparsity).
    """
    plugin, width, k = evaluator.plugin, evaluator.width, options.k
    rows = [query for query in queries for _ in range(k)]
    index = [query.index for query in rows]
    u = evaluator.u[index]
    lower, upper = (bound.repeat_interleave(k, dim=0).to(u) for bound in
                    _coordinate_bounds(plugin, queries, evaluator.u[[q.index for q in queries]], options))
    noise = RESTART_NOISE * torch.randn(len(rows), width, generator=generator).to(u)
    noise[::k] = 0.0
    delta = torch.maximum(torch.minimum(noise, upper), lower)
    targets = torch.as_tensor(evaluator.targets[index], device=u.device)
    for start in range(0, len(rows), EVALUATION_BATCH):
        part = slice(start, start + EVALUATION_BATCH)
        residual = None if evaluator.residual is None else evaluator.residual[index[part]]
        delta[part] = _descend(plugin, module, u[part], residual, delta[part], lower[part], upper[part], targets[part])
    proposals = []
    for row, query in enumerate(rows):
        changes = _snap(plugin, query, u[row, :width], u[row, :width] + delta[row], options)
        variants = [changes] + ([[c for c in changes if c is not dropped] for dropped in changes]
                                if len(changes) > 1 else [])
        proposals += [Candidate(query.index, evaluator.canonical(v)) for v in variants if v]
    unique = list({(c.query, c.changes): c for c in proposals}.values())
    evaluator.evaluate(unique)
    found = {}
    for index, candidates in _by_query(unique).items():
        valid = [c for c in candidates if c.valid]
        found[index] = [c for c in valid if not any(set(o.changes) < set(c.changes) for o in valid)]
    return found


def _descend(plugin: Plugin, module: torch.nn.Module, u: torch.Tensor, residual: torch.Tensor | None,
             delta: torch.Tensor, lower: torch.Tensor, upper: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The optimised change ``[R, width]`` of the attribute coordinates of ``u [R, k]``; see :func:`gradient_search`."""
    width, backbone = plugin.prior.width, plugin.backbone
    delta = delta.clone().requires_grad_(True)
    optimiser = torch.optim.Adam([delta], lr=GRADIENT_LR)
    with eval_mode(backbone), eval_mode(module), torch.enable_grad():
        for _ in range(GRADIENT_STEPS):
            coordinates = torch.cat([u[:, :width] + delta, u[:, width:]], dim=1)
            z = plugin.latents_from(plugin.flow.inverse(coordinates)[0], residual)
            decoded = backbone.decode(z.to(backbone_device(backbone)), **plugin.decoding)
            p = class_probabilities(module(decoded)).to(u.device)
            log_target = torch.log(p.gather(1, targets.unsqueeze(1)).squeeze(1).clamp_min(1e-8))
            loss = (GRADIENT_L1 * delta.abs().sum(dim=1) - log_target).sum()
            # autograd.grad, not backward: the flow's, backbone's and classifier's own gradients stay untouched
            delta.grad = torch.autograd.grad(loss, [delta])[0]
            optimiser.step()
            with torch.no_grad():
                delta.copy_(torch.maximum(torch.minimum(delta, upper), lower))
    return delta.detach()


def pick_diverse(candidates: Sequence[Candidate], k: int) -> list[Candidate]:
    """Up to ``k`` of ``candidates``: fewest changes first, each with a new set of changed attributes while there
    are such, then the rest by target probability; returned in that order."""
    ordered = sorted(candidates, key=lambda c: (len(c.changes), c.style_shift, -c.probability))
    chosen, attribute_sets = [], set()
    for candidate in ordered:
        names = frozenset(name for name, _ in candidate.changes)
        if names not in attribute_sets and len(chosen) < k:
            chosen.append(candidate)
            attribute_sets.add(names)
    rest = [c for c in ordered if all(c is not other for other in chosen)]
    return chosen + sorted(rest, key=lambda c: (len(c.changes), -c.probability))[:k - len(chosen)]
