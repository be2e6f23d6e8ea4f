"""The progress bar of long work (training, sampling, calibration, reading big folders)."""

from __future__ import annotations

from collections.abc import Callable
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


class ProgressBar:
    """A rich progress bar over engine steps showing the latest losses; silent when disabled
    or when the output is not a terminal (logs of batch jobs stay clean)."""

    def __init__(self, total_steps: int, start_step: int, enabled: bool, description: str = "train"):
        console = Console(stderr=True)
        self._progress = Progress(
            TextColumn(f"[bold]{description}"), BarColumn(bar_width=24), MofNCompleteColumn(), TimeRemainingColumn(),
            TextColumn("{task.fields[losses]}"),
            console=console, disable=not (enabled and console.is_terminal),
        )
        self._task = self._progress.add_task("train", total=total_steps, completed=start_step, losses="")
        self._progress.start()

    def update(self, step: int, latest: dict[str, float]) -> None:
        losses = "  ".join(f"{k}={v:.4g}" for k, v in latest.items() if k.endswith("/loss"))
        self._progress.update(self._task, completed=step, losses=losses)

    def close(self) -> None:
        self._progress.stop()


def in_batches(n: int, batch_size: int, make: Callable[[int], T], progress: bool = False,
               description: str = "sampling") -> list[T]:
    """``[make(size), …]`` for consecutive batches of at most ``batch_size`` that add up to ``n``, in order
    (so one random generator gives the same draws whatever the caller), with a progress bar over ``n``."""
    parts, done = [], 0
    bar = ProgressBar(n, 0, progress, description=description)
    try:
        while done < n:
            size = min(batch_size, n - done)
            parts.append(make(size))
            done += size
            bar.update(done, {})
    finally:
        bar.close()
    return parts
