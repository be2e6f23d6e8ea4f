"""The ``condgen`` command line: a thin typer front over the library (parse, call, print).

Every :class:`condgen.errors.CondgenError` is printed on one line and exits with code 1,
without a traceback.
"""

from __future__ import annotations

import sys
import warnings

from condgen.cli import explain as _explain
from condgen.cli import models as _models
from condgen.cli import molecules as _molecules
from condgen.cli import plugin as _plugin
from condgen.cli.common import App, console
from condgen.errors import CondgenError

app = App(
    name="condgen",
    help="Deep conditional generative models: train backbones, fit plugins that steer them, evaluate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
_models.register(app)
_plugin.register(app)
_molecules.register(app)
_explain.register(app)


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    """Warnings on the command line read ``warning: …``, without the source line that raised them."""
    return f"warning: {message}\n"


def main() -> None:
    """Console-script entry point."""
    warnings.formatwarning = _one_line_warning
    try:
        app()  # standalone mode: usage errors print themselves and exit 2
    except CondgenError as error:
        console.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        console.print("[bold red]interrupted[/] (a resumable run keeps its last checkpoint: add --resume)")
        sys.exit(130)
