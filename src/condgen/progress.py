"""What long work shows while it runs: a rich progress bar over its steps, and one status line per phase.

Both go to one console on stderr (:data:`CONSOLE`), so the results a command prints on stdout stay clean.
Bars show only on a terminal (logs of batch jobs stay clean); status lines show everywhere, one per phase.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

T = TypeVar("T")

#: The console of every bar and status line (tests swap it for a recording one).
CONSOLE = Console(stderr=True)


class ProgressBar:
    """A rich progress bar over ``total_steps`` named ``description``, showing the latest losses (engine) or a
    note on the current step; silent when disabled or when the output is not a terminal."""

    def __init__(self, total_steps: int, start_step: int, enabled: bool, description: str = "train"):
        console = CONSOLE
        #: whether the bar draws; a hidden one does no work per step (the engine updates it every step)
        self.shown = enabled and console.is_terminal
        self._progress = Progress(
            TextColumn(f"[bold]{description}"), BarColumn(bar_width=24), MofNCompleteColumn(), TimeRemainingColumn(),
            TextColumn("{task.fields[note]}"),
            console=console, disable=not self.shown,
        )
        self._task = self._progress.add_task(description, total=total_steps, completed=start_step, note="")
        self._progress.start()

    def update(self, step: int, latest: dict[str, float] | None = None, note: str | None = None) -> None:
        """Move to ``step``; the note shows ``note``, else the ``…/loss`` entries of ``latest``."""
        if not self.shown:
            return
        if note is None:
            note = "  ".join(f"{k}={v:.4g}" for k, v in (latest or {}).items() if k.endswith("/loss"))
        self._progress.update(self._task, completed=step, note=note)

    def close(self) -> None:
        self._progress.stop()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def status(message: str, enabled: bool = True) -> None:
    """One line saying what starts now (``message``), on the progress console; nothing when disabled."""
    if enabled:
        CONSOLE.print(f"[dim]·[/] {message}", highlight=False, soft_wrap=True)


class Phases:
    """The phases of one long task, each announced by a status line as it starts and timed.

    >>> phases = Phases(enabled=True)
    >>> with phases("latents", "encoding 20,000 examples"):  # doctest: +SKIP
    ...     ...
    >>> phases.seconds  # doctest: +SKIP
    {'latents': 9.1}
    """

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        #: wall seconds per phase key, in the order the phases ran
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, key: str, message: str | None = None) -> Iterator[None]:
        """Time the block as phase ``key`` (added up if it runs again); ``message`` is its status line (None:
        the work inside announces itself)."""
        if message is not None:
            status(message, self.enabled)
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[key] = self.seconds.get(key, 0.0) + time.perf_counter() - started


def over_slices(n: int, batch_size: int, make: Callable[[slice], T], progress: bool = False,
                description: str = "batches") -> list[T]:
    """``[make(slice(0, b)), make(slice(b, 2b)), …]`` over consecutive slices that cover ``range(n)``, in order,
    with a progress bar over the ``n`` items."""
    parts = []
    with ProgressBar(n, 0, progress, description=description) as bar:
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            parts.append(make(slice(start, stop)))
            bar.update(stop)
    return parts


def in_batches(n: int, batch_size: int, make: Callable[[int], T], progress: bool = False,
               description: str = "sampling") -> list[T]:
    """``[make(size), …]`` for consecutive batches of at most ``batch_size`` that add up to ``n``, in order
    (so one random generator gives the same draws whatever the caller), with a progress bar over ``n``."""
    return over_slices(n, batch_size, lambda part: make(part.stop - part.start), progress, description)
