"""What every benchmark records next to its numbers: the command, the commit and the machine."""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def provenance() -> dict[str, str | int]:
    """Command line, git commit (with a dirty flag), machine and time of this run."""
    root = Path(__file__).resolve().parents[1]

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return "unknown"

    import torch

    return {
        "command": shlex.join(["python", *sys.argv]),  # quoted: an empty argument stays visible
        "commit": git("rev-parse", "HEAD") + (" (dirty)" if git("status", "--porcelain", "--", "src") else ""),
        "machine": f"{platform.machine()} {platform.processor() or ''} {os.cpu_count()} cores".strip(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
