"""Pieces shared by the CLI commands: the console, option parsing, the one-line error path."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from condgen.errors import ConfigError

console = Console(stderr=True)
out = Console()


def parse_assignments(items: Sequence[str] | None, flag: str) -> dict[str, str]:
    """``["smiling=1", "yaw=0.3"]`` → ``{"smiling": "1", "yaw": "0.3"}``."""
    parsed: dict[str, str] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ConfigError(f"{flag} expects NAME=VALUE, got {item!r}")
        parsed[name.strip()] = value.strip()
    return parsed


def parse_options(items: Sequence[str] | None) -> dict[str, object]:
    """``--option key=value`` pairs; values are read as JSON when they parse (numbers, lists, true)."""
    options: dict[str, object] = {}
    for name, text in parse_assignments(items, "--option").items():
        try:
            options[name] = json.loads(text)
        except json.JSONDecodeError:
            options[name] = text
    return options


def split_names(text: str | None) -> list[str]:
    """``"smiling, eyeglasses"`` → ``["smiling", "eyeglasses"]``."""
    return [name.strip() for name in (text or "").split(",") if name.strip()]


def default_output(stem: str, modality) -> Path:
    """``stem`` with the modality's first sample suffix: ``generated.png``, ``generated.smi``, …"""
    return Path(f"{stem}{modality.suffixes[0]}")
