"""What a run records: ``out/log.csv``, and optionally TensorBoard (the progress bar is :mod:`condgen.progress`)."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from pathlib import Path

from condgen.errors import ConfigError
from condgen.io import atomic_write_bytes

LOG_FILE = "log.csv"


class RunLog:
    """Averages the values logged between two log points and records them.

    Each record is ``{"step": s, "<group>/loss": …, "<group>/<name>": …}`` (means over the steps
    since the previous record) plus the values :meth:`note` saw last (e.g. ``"<group>/lr"``). Records go
    to :attr:`history`, to ``out/log.csv`` and, if asked, to TensorBoard under ``out/tensorboard``. Only
    the main rank should write (``out=None`` else).
    """

    def __init__(self, out: Path | None, tensorboard: bool = False, resume_step: int | None = None):
        self.path = Path(out) / LOG_FILE if out is not None else None
        self.history: list[dict[str, float]] = []
        self.latest: dict[str, float] = {}
        self._sums: dict[str, float] = defaultdict(float)
        self._counts: dict[str, int] = defaultdict(int)
        self._noted: dict[str, float] = {}
        self._columns: list[str] = ["step"]
        if self.path is not None and resume_step is not None and self.path.is_file():
            # Rows logged after the checkpoint by the interrupted run are replayed now; drop them.
            self.history = [row for row in _read_csv(self.path) if row["step"] <= resume_step]
            for row in self.history:
                self._columns += [k for k in row if k not in self._columns]
            self._rewrite()
        elif self.path is not None:
            self._rewrite()
        self._writer = _tensorboard_writer(Path(out) / "tensorboard") if tensorboard and out else None

    def add(self, group: str, loss: float, logs: dict[str, float]) -> None:
        """Record one optimiser step's loss and logged values of ``group``."""
        for key, value in {"loss": loss, **logs}.items():
            name = f"{group}/{key}"
            self.latest[name] = float(value)
            self._sums[name] += float(value)
            self._counts[name] += 1

    def note(self, values: dict[str, float]) -> None:
        """Record values as they are now, not averaged: the next record holds the last ones noted
        (a learning rate is worth seeing at the logged step, not as a mean over the window)."""
        self._noted.update({key: float(value) for key, value in values.items()})
        self.latest.update(self._noted)

    def flush(self, step: int) -> dict[str, float]:
        """Close the averaging window at ``step``: append its record everywhere and return it."""
        record: dict[str, float] = {"step": step}
        record.update({k: self._sums[k] / self._counts[k] for k in self._sums})
        record.update(self._noted)
        self._sums.clear()
        self._counts.clear()
        self._noted.clear()
        self.history.append(record)
        if self.path is not None:
            new_columns = [k for k in record if k not in self._columns]
            if new_columns:
                self._columns += new_columns
                self._rewrite()
            else:
                with self.path.open("a", newline="") as handle:
                    csv.DictWriter(handle, self._columns).writerow(record)
        if self._writer is not None:
            for key, value in record.items():
                if key != "step":
                    self._writer.add_scalar(key, value, step)
        return record

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()

    def _rewrite(self) -> None:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, self._columns)
        writer.writeheader()
        writer.writerows(self.history)
        atomic_write_bytes(self.path, buffer.getvalue().encode())


def _read_csv(path: Path) -> list[dict[str, float]]:
    rows = []
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            record = {k: float(v) for k, v in row.items() if v not in ("", None)}
            record["step"] = int(record["step"])
            rows.append(record)
    return rows


def _tensorboard_writer(directory: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ConfigError(
            "tensorboard=True needs the tensorboard package: pip install 'condgen[tensorboard]' "
            "(or train with tensorboard=False; losses are always in log.csv)"
        ) from None
    return SummaryWriter(log_dir=str(directory))
