"""condgen — deep conditional generative models and plugins that steer frozen ones."""

__version__ = "0.1.0"

from condgen.errors import CondgenError  # noqa: E402
from condgen.io import load  # noqa: E402

__all__ = ["CondgenError", "__version__", "load"]
