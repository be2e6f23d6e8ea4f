"""CTGAN's condition vector and its training-by-sampling (Xu et al., 2019, §4.3).

A *condition* is one category of one discrete (categorical) column. The condition vector is the concatenation of
one one-hot block per discrete column, in the table's column order, with a single 1: the chosen column's chosen
category. A condition is written as its position in that vector (``offset of the column + category index``).

Training-by-sampling draws, for every row of a batch: a discrete column uniformly, one of its categories with
probability ∝ log(1 + count), and then a training row holding that category, uniformly. Rare categories are so
seen far more often than in uniformly drawn batches, while the critic still compares the generator's rows with
real rows *of the same condition*. The draws use torch's global random generator, which the engine seeds per
process and saves in every checkpoint, so a resumed run draws exactly what an uninterrupted one would.

Shapes: stored rows ``[N, C]``; conditions ``long [B]``; condition vectors ``[B, width]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F

from condgen.errors import ConfigError, check_choice
from condgen.models.table_transform import ColumnLayout


class ConditionSpace:
    """The discrete columns of a table as CTGAN's condition vector lays them out."""

    def __init__(self, layouts: Sequence[ColumnLayout]):
        #: the table column of each discrete column
        self.columns = [j for j, layout in enumerate(layouts) if not layout.is_number]
        self.names = [layouts[j].name for j in self.columns]
        self.sizes = torch.tensor([layouts[j].categories for j in self.columns], dtype=torch.long)
        self.offsets = torch.cat([torch.zeros(1, dtype=torch.long), self.sizes.cumsum(0)])[:-1]
        self.width = int(self.sizes.sum())
        #: ``[discrete columns, width]``: which positions of the vector belong to each column
        positions = torch.arange(self.width)
        self.blocks = (positions >= self.offsets[:, None]) & (positions < (self.offsets + self.sizes)[:, None])

    def one_hot(self, conditions: torch.Tensor) -> torch.Tensor:
        """Condition vectors ``float [B, width]`` of conditions ``long [B]`` (``[B, 0]`` for a table without
        discrete columns)."""
        if self.width == 0:
            return torch.zeros(conditions.shape[0], 0, device=conditions.device)
        return F.one_hot(conditions, self.width).float()

    def column_of(self, conditions: torch.Tensor) -> torch.Tensor:
        """The discrete column (an index into :attr:`columns`) of each condition ``long [B]``."""
        return torch.bucketize(conditions.cpu(), self.offsets, right=True) - 1

    def position_of(self, condition: Mapping[str, str | int], category_names: Mapping[str, Sequence[str]]) -> int:
        """The position of ``{"column": category}`` (a category's name, as ``category_names[column]`` lists them,
        or its index); anything else is a one-line ConfigError."""
        if len(condition) != 1 or not self.columns:
            raise ConfigError(f"ctgan conditions on one category of one categorical column "
                              f"({', '.join(self.names)}), got {dict(condition)}")
        (name, value), = condition.items()
        d = self.names.index(check_choice(name, self.names, "categorical column", "ctgan"))
        size = int(self.sizes[d])
        categories = [str(c) for c in category_names.get(name, [])]
        categories = categories if len(categories) == size else [str(i) for i in range(size)]
        if isinstance(value, str) and value in categories:
            value = categories.index(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < size:
            raise ConfigError(f"ctgan: {value!r} is not a category of {name}; valid: {', '.join(categories)}")
        return int(self.offsets[d]) + value

    def initial_frequencies(self) -> torch.Tensor:
        """``[width]``: every category of a column equally frequent (before the training rows are seen)."""
        return torch.cat([torch.full((int(size),), 1.0 / int(size)) for size in self.sizes]) if self.width else \
            torch.zeros(0)

    def condition_at(self, uniform: torch.Tensor, frequencies: torch.Tensor) -> torch.Tensor:
        """Conditions ``long [B]`` for numbers ``uniform [B]`` in [0, 1) by the inverse distribution function of
        "a discrete column uniformly, then a category ∝ its frequency ``frequencies [width]``": how an
        unconditional sample chooses its condition (each column's frequencies sum to 1)."""
        cumulative = (frequencies.double().cpu() / len(self.columns)).cumsum(0)
        return torch.searchsorted(cumulative, uniform.double().cpu(), right=True).clamp(max=self.width - 1)


class TrainingBySampling:
    """Per condition, the training rows that hold it; draws conditions and matching rows (module docstring).

    Args:
        space: the table's :class:`ConditionSpace`.
        rows: the stored training rows ``[N, C]`` (categories as indices).
    """

    def __init__(self, space: ConditionSpace, rows: torch.Tensor):
        self.space = space
        self.num_rows = rows.shape[0]
        grouped, counts = [], []
        for column, size in zip(space.columns, space.sizes.tolist(), strict=True):
            categories = rows[:, column].round().long().clamp(0, size - 1)
            grouped.append(torch.argsort(categories, stable=True))  # the rows of category 0, then of 1, …
            counts.append(torch.bincount(categories, minlength=size))
        #: rows grouped by condition, and where each condition's rows start in it
        self.counts = torch.cat(counts) if counts else torch.zeros(0, dtype=torch.long)
        self.rows_by_condition = torch.cat(grouped) if grouped else torch.zeros(0, dtype=torch.long)
        self.starts = torch.cat([torch.zeros(1, dtype=torch.long), self.counts.cumsum(0)])[:-1]
        # per discrete column the log-frequency distribution of its categories, padded to the widest column
        widest = int(space.sizes.max()) if len(space.columns) else 0
        self.log_frequency = torch.zeros(len(space.columns), widest)
        for d, (offset, size) in enumerate(zip(space.offsets.tolist(), space.sizes.tolist(), strict=True)):
            weights = torch.log1p(self.counts[offset:offset + size].double())
            self.log_frequency[d, :size] = (weights / weights.sum()).float()

    @property
    def frequencies(self) -> torch.Tensor:
        """``[width]``: each category's share of the rows, per column (each block sums to 1)."""
        return self.counts.float() / self.num_rows

    def condition_probabilities(self) -> torch.Tensor:
        """``[width]``: the probability that a draw conditions on each category (column uniformly, category
        ∝ log(1 + count))."""
        blocks = [self.log_frequency[d, :size] for d, size in enumerate(self.space.sizes.tolist())]
        return torch.cat(blocks) / len(blocks) if blocks else torch.zeros(0)

    def draw(self, n: int) -> tuple[torch.Tensor | None, torch.Tensor]:
        """``(conditions long [n], rows long [n])``: conditions drawn as the module docstring says and, for each,
        a training row holding its category. Without discrete columns: ``(None, uniformly drawn rows)``."""
        if not self.space.columns:
            return None, torch.randint(self.num_rows, (n,))
        column = torch.randint(len(self.space.columns), (n,))
        category = torch.multinomial(self.log_frequency[column], 1).squeeze(1)
        conditions = self.space.offsets[column] + category
        count = self.counts[conditions]  # ≥ 1: a category without rows has probability log(1) = 0
        pick = torch.minimum((torch.rand(n) * count).long(), count - 1)
        return conditions, self.rows_by_condition[self.starts[conditions] + pick]
