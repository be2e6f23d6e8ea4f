"""Pieces shared by the CLI commands: the consoles, the typer app class, option parsing, library messages."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from typer.core import TyperCommand, TyperGroup

from condgen.errors import ConfigError

#: Width of output that goes to a file or a pipe: rich would cut tables at 80 columns there.
PIPE_WIDTH = 200


def _console(stderr: bool) -> Console:
    """A console as wide as the terminal, or :data:`PIPE_WIDTH` when writing to a file or a pipe (``COLUMNS``
    still wins)."""
    stream = sys.stderr if stderr else sys.stdout
    at_terminal = hasattr(stream, "isatty") and stream.isatty()
    return Console(stderr=stderr, width=None if at_terminal or "COLUMNS" in os.environ else PIPE_WIDTH)


console = _console(stderr=True)
out = _console(stderr=False)


# -- the typer app -----------------------------------------------------------------------------------------
class _FlagsWithoutType:
    """typer prints a type after every option, ``<bool>`` after flags too (``--resume``, ``--help``); a flag
    takes no value, so it gets none."""

    def get_params(self, ctx):
        params = super().get_params(ctx)
        for param in params:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
        return params


class Command(_FlagsWithoutType, TyperCommand):
    """A condgen command (see :class:`_FlagsWithoutType`)."""


class Group(_FlagsWithoutType, TyperGroup):
    """A condgen command group (see :class:`_FlagsWithoutType`)."""


class App(typer.Typer):
    """``typer.Typer`` whose commands and groups print flags without a type; library messages are shown."""

    def __init__(self, **options):
        super().__init__(cls=Group, callback=show_library_messages, **options)

    def command(self, *args, **options):
        options.setdefault("cls", Command)
        return super().command(*args, **options)


class _ConsoleHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        prefix = "warning: " if record.levelno >= logging.WARNING else ""  # as Python warnings print
        console.print(prefix + self.format(record), highlight=False, soft_wrap=True, markup=False)


def show_library_messages() -> None:
    """Print what condgen's library says at INFO level (e.g. the kind of every attribute it loads) on stderr,
    one line each (once per process, whichever command runs)."""
    logger = logging.getLogger("condgen")
    if not any(isinstance(handler, _ConsoleHandler) for handler in logger.handlers):
        logger.addHandler(_ConsoleHandler())
        logger.setLevel(logging.INFO)


# -- option parsing ----------------------------------------------------------------------------------------
def parse_assignments(items: Sequence[str] | None, flag: str) -> dict[str, str]:
    """``["smiling=1", "yaw=0.3"]`` → ``{"smiling": "1", "yaw": "0.3"}``; a name given twice is an error."""
    parsed: dict[str, str] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise ConfigError(f"{flag} expects NAME=VALUE, got {item!r}")
        if name in parsed:
            raise ConfigError(f"{flag} {name}=… is given twice ({name}={parsed[name]} and {name}={value}); "
                              "give each name once")
        parsed[name] = value
    return parsed


def _json_or_text(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_options(items: Sequence[str] | None) -> dict[str, object]:
    """``--option key=value`` pairs; values are read as JSON when they parse (numbers, lists, true)."""
    return {name: _json_or_text(text) for name, text in parse_assignments(items, "--option").items()}


def parse_data_options(data_option: Sequence[str] | None, kind: Sequence[str] | None) -> dict[str, object]:
    """The reader options of ``--data-option KEY=VALUE`` (values read as JSON when they parse) plus the kind
    overrides of ``--kind NAME=KIND`` as ``kinds``: what :func:`condgen.data.load_dataset` takes."""
    options = {name: _json_or_text(text) for name, text in parse_assignments(data_option, "--data-option").items()}
    kinds = parse_assignments(kind, "--kind")
    if kinds:
        if "kinds" in options:
            raise ConfigError("give kinds with --kind NAME=KIND, not --data-option kinds=…")
        options["kinds"] = kinds
    return options


def split_names(text: str | None) -> list[str]:
    """``"smiling, eyeglasses"`` → ``["smiling", "eyeglasses"]``."""
    return [name.strip() for name in (text or "").split(",") if name.strip()]


def default_output(stem: str, modality) -> Path:
    """``stem`` with the modality's first sample suffix: ``generated.png``, ``generated.smi``, …"""
    return Path(f"{stem}{modality.suffixes[0]}")


# -- option declarations shared by the commands that load data ---------------------------------------------
KindOption = Annotated[list[str] | None, typer.Option(
    "--kind", metavar="NAME=KIND", help="an attribute's kind (binary, continuous, categorical), repeatable; overrides "
                                        "what was inferred from the data (e.g. --kind label=continuous)")]
DataOption = Annotated[list[str] | None, typer.Option(
    "--data-option", metavar="KEY=VALUE", help="an option of the data's reader, repeatable: CelebA "
                                               "split=train|valid|test, crop=148, limit=N, grayscale=true; image "
                                               "folders labels=FILE.csv, crop, limit, grayscale; IDX split=test, "
                                               "class_names=fashion-mnist")]
