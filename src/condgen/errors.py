"""One exception family for everything condgen reports to a user.

Every message says what was wrong and what to do about it; the CLI prints it on one
line and exits non-zero, without a traceback.
"""


class CondgenError(Exception):
    """Base class of every error condgen raises on purpose."""


class DataError(CondgenError):
    """Input data is unreadable, inconsistent or of the wrong shape (names the file and row)."""


class UnknownAttributeError(CondgenError, KeyError):
    """An attribute name that the schema does not hold; the message lists the valid ones."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class ArtifactError(CondgenError):
    """A model directory is missing, corrupt, foreign or of an unknown kind."""


class TrainingDivergedError(CondgenError):
    """A loss became NaN or infinite, or ran away (:mod:`condgen.train.divergence`); the last good
    checkpoint is kept."""


class ConfigError(CondgenError):
    """A hyper-parameter or option has an invalid value."""


def check_choice(value, valid, what: str, owner: str | None = None):
    """``value`` if it is one of ``valid`` (any collection of names); otherwise the one-line ConfigError
    ``"<owner>: unknown <what> <value>; valid: a, b, c"`` (without an owner: ``"unknown …"``)."""
    if value not in valid:
        prefix = f"{owner}: " if owner else ""
        raise ConfigError(f"{prefix}unknown {what} {value!r}; valid: {', '.join(valid)}")
    return value
