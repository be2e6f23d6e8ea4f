"""Attribute metrics against values computed by hand on small tensors."""

import math

import pytest
import torch

from condgen.data.schema import Attribute, AttributeSchema
from condgen.errors import ConfigError, DataError, UnknownAttributeError
from condgen.metrics.attributes import (
    change_size,
    conditional_accuracy,
    edit_success,
    flip_rates,
    mnac,
    preservation,
)

SCHEMA = AttributeSchema((
    Attribute("smile", "binary"),
    Attribute("age", "continuous", mean=40.0, std=10.0),
    Attribute("hair", "categorical", categories=("black", "blond", "red")),
    Attribute("glasses", "binary"),
))
NAN = float("nan")


def test_conditional_accuracy_per_kind_and_skips_unrequested():
    requested = torch.tensor([[1, 30, 0, NAN], [0, 50, 2, 1], [1, 40, 1, 0], [NAN, 60, 1, 1]])
    predicted = torch.tensor([[1, 33, 0, 0], [1, 58, 2, 1], [1, 41, 0, 0], [0, 40, 1, 1]])
    report = conditional_accuracy(predicted, requested, SCHEMA, tolerance=0.5)
    assert report["smile"] == pytest.approx(2 / 3)      # rows 0, 2 hit; row 1 misses; row 3 not asked
    assert report["hair"] == pytest.approx(3 / 4)       # row 2 wrong
    assert report["glasses"] == pytest.approx(1.0)      # rows 1, 2, 3 all hit
    # |errors| = 3, 8, 1, 20; within 0.5 * std = 5: rows 0 and 2.
    assert report["age"]["within_tolerance"] == pytest.approx(0.5)
    assert report["age"]["mae"] == pytest.approx((3 + 8 + 1 + 20) / 4)


def test_conditional_accuracy_rejects_wrong_width():
    with pytest.raises(DataError):
        conditional_accuracy(torch.zeros(2, 3), torch.zeros(2, 3), SCHEMA)


def test_edit_success_scalar_and_per_example_targets_and_names():
    after = torch.tensor([[1, 30, 0, 0], [0, 50, 2, 1], [1, 40, 1, 0], [1, 60, 1, 1]])
    assert edit_success(after, 1.0, 0) == pytest.approx(0.75)
    assert edit_success(after, 1.0, "smile", SCHEMA) == pytest.approx(0.75)
    assert edit_success(after, torch.tensor([0.0, 0.0, 1.0, 1.0]), "glasses", SCHEMA) == pytest.approx(0.5)
    assert edit_success(after, 45.0, "age", SCHEMA, tolerance=5.0) == pytest.approx(0.5)  # 50 and 40
    with pytest.raises(UnknownAttributeError, match="smile, age, hair, glasses"):
        edit_success(after, 1.0, "beard", SCHEMA)


def test_preservation_mnac_and_flip_rates():
    before = torch.tensor([[1, 30, 0, 0], [0, 50, 2, 1], [1, 40, 1, 0]])
    after = torch.tensor([[0, 35, 0, 1], [1, 20, 1, 0], [0, 40, 1, 0]])
    # Edited "smile"; the other discrete attributes are hair and glasses (age is continuous).
    # Row 0: hair kept, glasses flipped; row 1: both flipped; row 2: both kept → 3 of 6 kept.
    assert preservation(before, after, "smile", SCHEMA) == pytest.approx(3 / 6)
    assert mnac(before, after, [0], SCHEMA) == pytest.approx((1 + 2 + 0) / 3)
    assert mnac(before, after, 0, SCHEMA) == pytest.approx((1 - 0.5) * 2)
    # Editing smile and glasses together leaves only hair: kept in rows 0 and 2.
    assert preservation(before, after, ["smile", "glasses"], SCHEMA) == pytest.approx(2 / 3)
    assert flip_rates(before, after, SCHEMA) == pytest.approx({"smile": 1.0, "hair": 1 / 3, "glasses": 2 / 3})
    assert math.isnan(preservation(before, after, [0, 2, 3], SCHEMA))
    assert mnac(before, after, [0, 2, 3], SCHEMA) == 0.0


def test_change_size_l1_and_l2():
    before = torch.zeros(2, 1, 2, 2)
    after = torch.zeros(2, 1, 2, 2)
    after[0, 0, 0, 0] = 2.0            # example 0: one pixel of four moved by 2
    after[1] = -1.0                    # example 1: every pixel moved by 1
    assert change_size(before, after, "l1") == pytest.approx((2 / 4 + 1) / 2)
    assert change_size(before, after, "l2") == pytest.approx((math.sqrt(4 / 4) + 1) / 2)
    assert change_size(before, before) == 0.0
    with pytest.raises(ConfigError):
        change_size(before, after, "l3")
    with pytest.raises(DataError):
        change_size(before, after[:1])
