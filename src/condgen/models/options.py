"""Checking ``-o KEY=VALUE`` model options against the type of each config field, before a model is built.

The CLI reads a value as JSON when it parses (``-o lr=1e-3`` is a number, ``-o latent_dim=abc`` text), so a
value of the wrong type would otherwise reach the model and fail there with a Python message, or — a
negative learning rate — in the optimiser at the first step. Here each value is checked against its field's
type hint (``int``, ``float``, ``str``, ``bool``, ``tuple[float, float]``, ``X | None``); learning rates,
sizes and counts must also be positive, and every number finite. Errors are one line naming ``-o KEY``.
"""

from __future__ import annotations

import json
import math
import types
import typing
from typing import Any

from condgen.errors import ConfigError

#: Option names (besides ``lr``, ``*_lr``, ``*_dim``, ``*_hidden``, ``*_layers``, ``*_steps``, ``*_every``,
#: ``n_*``) whose value must be positive: a size, a count or a clipping norm of 0 leaves nothing to train.
POSITIVE_OPTIONS = frozenset({"hidden", "base_channels", "layers", "grad_clip", "decoder_std"})
_POSITIVE_SUFFIXES = ("_lr", "_dim", "_hidden", "_layers", "_steps", "_every")


class _Invalid(Exception):
    """A value that does not fit a type."""


def checked_options(model: str, config_class: type, options: dict[str, Any],
                    defaults: dict[str, Any]) -> dict[str, Any]:
    """``options`` with each value of the type its field of ``config_class`` declares (an integer where a
    float is wanted becomes a float, a list where a tuple is wanted a tuple); raises a one-line
    :class:`ConfigError` naming ``-o KEY`` for a value of another type, a non-finite number, or a learning
    rate, size or count that is not positive. ``defaults`` go into the message as an example."""
    hints = typing.get_type_hints(config_class)
    checked = {}
    for key, value in options.items():
        hint = hints.get(key, Any)
        try:
            checked[key] = _fit(value, hint)
            if _must_be_positive(key) and checked[key] is not None and not checked[key] > 0:
                raise _Invalid
        except _Invalid:
            wanted = _describe(hint)
            if _must_be_positive(key):
                wanted = wanted.replace("an integer", "a positive integer").replace("a number", "a positive number")
            raise ConfigError(f"-o {key}={_shown(value)}: {model} needs {wanted} there "
                              f"(default: -o {key}={_shown(defaults.get(key))})") from None
    return checked


def _must_be_positive(key: str) -> bool:
    return key == "lr" or key in POSITIVE_OPTIONS or key.endswith(_POSITIVE_SUFFIXES) or key.startswith("n_")


def _alternatives(hint: Any) -> tuple[Any, ...]:
    """The types a union hint allows (``float | None`` → ``(float, NoneType)``), or the hint alone."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return typing.get_args(hint)
    return (hint,)


def _fit(value: Any, hint: Any) -> Any:
    """``value`` as the type ``hint`` says, or raise :class:`_Invalid`."""
    for kind in _alternatives(hint):
        try:
            return _fit_one(value, kind)
        except _Invalid:
            continue
    raise _Invalid


def _fit_one(value: Any, kind: Any) -> Any:
    if kind is type(None):
        if value is None:
            return None
        raise _Invalid
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise _Invalid
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _Invalid
    if kind is float:
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        raise _Invalid
    if kind is str:
        if isinstance(value, str):
            return value
        raise _Invalid
    if typing.get_origin(kind) is tuple:
        items = typing.get_args(kind)
        if not isinstance(value, list | tuple):
            raise _Invalid
        if len(items) == 2 and items[1] is Ellipsis:
            return tuple(_fit(item, items[0]) for item in value)
        if len(value) != len(items):
            raise _Invalid
        return tuple(_fit(item, item_kind) for item, item_kind in zip(value, items, strict=True))
    return value  # a type this check does not know: the model's own validation decides


def _describe(hint: Any) -> str:
    """What a value of ``hint`` looks like, for an error message: ``an integer``, ``a number or null``."""
    names = []
    for kind in _alternatives(hint):
        if kind is type(None):
            names.append("null")
        elif kind is bool:
            names.append("true or false")
        elif kind is int:
            names.append("an integer")
        elif kind is float:
            names.append("a number")
        elif kind is str:
            names.append("text")
        elif typing.get_origin(kind) is tuple:
            items = typing.get_args(kind)
            names.append("a list of numbers" if Ellipsis in items else f"a list of {len(items)} numbers")
        else:
            names.append("a value")
    return " or ".join(names)


def _shown(value: Any) -> str:
    """A value as it is typed after ``-o KEY=``."""
    return value if isinstance(value, str) else json.dumps(value)
