"""ponder's error family. Every expected failure is a :class:`PonderError` whose message says
what was wrong and where, and whose ``hint`` says what to do. The CLI prints these as one line
(plus the hint) without a traceback."""

from __future__ import annotations


class PonderError(Exception):
    """Base of every error ponder raises on purpose."""

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class ConfigError(PonderError):
    """A configuration file, spec or argument is invalid."""


class ModelNotFound(PonderError):
    """A model name the registry does not know."""


class MissingDependency(PonderError):
    """An optional package (an extra or a weights package) is not installed."""


class BackendUnavailable(PonderError):
    """A model endpoint or backend cannot be reached or failed."""


class ModelTimeout(BackendUnavailable):
    """A model endpoint did not answer in time."""


class BudgetExceeded(PonderError):
    """A charge would pass a :class:`ponder.usage.Budget` limit; raised before the spend."""

    def __init__(self, message: str, *, field: str, limit: float, would_be: float, scope: str = "run"):
        super().__init__(message, hint="raise the budget or lower the work asked for")
        self.field = field
        self.limit = limit
        self.would_be = would_be
        self.scope = scope


class EnvError(PonderError):
    """The environment itself failed (crashed browser, dead server): not a task failure."""


class TaskConfigError(ConfigError):
    """A task file is malformed; the message names the file and the field."""


class IndexLoadError(PonderError):
    """A retrieval index is missing, damaged, or built with another embedder."""


def missing_extra(package: str, extra: str) -> MissingDependency:
    """The error for an optional import that failed, naming the extra that provides it."""
    return MissingDependency(
        f"the optional package '{package}' is not installed",
        hint=f"pip install 'ponder[{extra}]'",
    )
