"""The progress bar of long work (training, sampling, calibration, reading big folders)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)


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
