"""What the command-line tests share: running a command in-process."""

import pytest
from typer.testing import CliRunner

from condgen.cli import app


@pytest.fixture(scope="session")
def cli():
    """``cli(*args, ok=True)``: run ``condgen ARGS`` in-process; with ``ok`` assert it succeeded. The result's
    ``exception`` holds a library error (the console script prints it as one line)."""
    runner = CliRunner()

    def invoke(*args, ok: bool = True):
        result = runner.invoke(app, [str(a) for a in args])
        if ok:
            assert result.exit_code == 0, (result.output, result.exception)
        return result

    return invoke
