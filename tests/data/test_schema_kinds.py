"""Attribute names and kinds said aloud: did-you-mean, former names, kind overrides, one line per attribute,
and the warning when a plugin's labelled set is small for the latent size."""

import logging
import math
import warnings

import pytest
import torch

from condgen.data import load_dataset, load_from_spec
from condgen.data.kinds import convert_kind, kind_lines, parse_kinds
from condgen.data.schema import Attribute, AttributeSchema, FewLabelsWarning, did_you_mean, warn_if_few_labels
from condgen.errors import ConfigError, DataError, UnknownAttributeError

CELEBA_LIKE = AttributeSchema(tuple(Attribute(n, "binary") for n in ("Smiling", "Eyeglasses", "Wearing_Hat")))


def test_unknown_names_suggest_the_same_letters_in_another_case_then_close_names():
    with pytest.raises(UnknownAttributeError, match=r"unknown attribute 'smiling'; did you mean 'Smiling'\? "
                                                    r"\(valid attributes: Smiling, Eyeglasses, Wearing_Hat\)$"):
        CELEBA_LIKE.index("smiling")
    assert did_you_mean("eyeglases", CELEBA_LIKE.names) == "; did you mean 'Eyeglasses'?"
    assert did_you_mean("wearing_hat", CELEBA_LIKE.names) == "; did you mean 'Wearing_Hat'?"
    assert did_you_mean("colour", CELEBA_LIKE.names) == ""
    with pytest.raises(UnknownAttributeError, match="did you mean 'Smiling'"):
        CELEBA_LIKE.subset(["smiling"])  # --attrs goes through the same lookup
    with pytest.raises(ConfigError, match="--kind smilling=continuous: unknown attribute 'smilling'; did you mean "
                                          "'Smiling'"):
        parse_kinds({"smilling": "continuous"}, CELEBA_LIKE.names)


def test_the_digits_class_is_label_and_artifacts_asking_for_digit_still_find_it():
    digits = load_dataset("digits")
    assert digits.schema.names == ["label"] and digits.schema["label"].categories == tuple("0123456789")
    old = digits.select_attributes(["digit"])  # what a plugin fitted before the rename asks for
    assert old.schema.names == ["digit"] and torch.equal(old.attributes, digits.attributes)
    assert old.schema["digit"].kind == "categorical"
    with pytest.raises(UnknownAttributeError, match="valid attributes: label"):
        digits.schema.index("digits")


def test_kind_conversions_re_encode_the_values():
    numbered = Attribute("label", "categorical", ("3", "5", "9"))
    converted, values = convert_kind(numbered, torch.tensor([0.0, 2.0, math.nan]), "continuous")
    assert converted.kind == "continuous"
    assert torch.allclose(values, torch.tensor([3.0, 9.0, math.nan]), equal_nan=True)  # the numbers, not indices
    age = Attribute("age", "continuous")
    converted, values = convert_kind(age, torch.tensor([30.0, 20.0, math.nan, 30.0]), "categorical")
    assert converted.categories == ("20", "30")
    assert torch.allclose(values, torch.tensor([1.0, 0.0, math.nan, 1.0]), equal_nan=True)
    with pytest.raises(DataError, match="--kind age=binary: 'age' holds 30"):
        convert_kind(age, torch.tensor([30.0, 1.0]), "binary")
    with pytest.raises(DataError, match="--kind label=binary: 'label' has 3 classes"):
        convert_kind(numbered, torch.tensor([0.0]), "binary")


def test_a_kind_override_of_a_built_in_set_is_recorded_and_rebuilt():
    digits = load_dataset("digits", kinds={"label": "continuous"})
    assert digits.schema["label"].kind == "continuous" and digits.spec["kinds"] == {"label": "continuous"}
    assert digits.schema["label"].mean == pytest.approx(float(load_dataset("digits").attributes.mean()))
    again = load_from_spec(digits.spec)
    assert again.schema == digits.schema and torch.equal(again.attributes, digits.attributes)
    with pytest.raises(ConfigError, match="the kind must be one of binary, continuous, categorical"):
        load_dataset("digits", kinds="label=ordinal")


def test_one_line_per_attribute_and_a_shared_line_for_many_alike(caplog):
    with caplog.at_level(logging.INFO, logger="condgen.data"):
        load_dataset("digits")
    assert caplog.messages == ["attribute label: categorical, 10 classes (the digit drawn; override with --kind "
                               "label=continuous)"]
    schema = AttributeSchema((Attribute("hair", "categorical", ("black", "brown")),
                              Attribute("age", "continuous", mean=31.25, std=9.5),
                              *(Attribute(f"a{i}", "binary", positive_rate=0.25) for i in range(4)),
                              Attribute("tone", "categorical", ("pale", "mid", "dark"))))
    reasons = {"hair": "inferred from text values", **{f"a{i}": "CelebA labels" for i in range(4)}}
    assert kind_lines(schema, reasons) == [
        "attribute hair: categorical, 2 classes (inferred from text values; override with --kind hair=binary)",
        "attribute age: continuous, mean 31.2, std 9.5 (override with --kind age=categorical)",
        "attributes a0, a1, a2, a3: binary (CelebA labels; override one with --kind NAME=categorical)",
        "attribute tone: categorical, 3 classes",  # named classes of three: no other kind to suggest
    ]


def test_print_of_a_dataset_is_one_short_line():
    text = repr(load_dataset("digits"))
    assert text == "LabeledDataset('digits': 1797 images [1, 8, 8]; label (categorical))"
    assert str(load_dataset("faces", n=8)).startswith("LabeledDataset('faces': 8 images [3, 32, 32]; male (binary),")


def test_few_labels_for_the_latent_size_warn_once_in_one_line():
    schema = AttributeSchema((Attribute("smiling", "binary"), Attribute("yaw", "continuous")))
    values = torch.zeros(96, 2)
    values[:40, 1] = math.nan  # yaw labelled on 56 rows only
    with pytest.warns(FewLabelsWarning, match=r"latent space of 8 dimensions: yaw \(56\), fewer than 10 × 8 = 80; "
                                              "the plugin can memorise them"):
        warn_if_few_labels(schema, values, latent_dim=8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_if_few_labels(schema, values, latent_dim=5)  # 56 ≥ 50: silent
