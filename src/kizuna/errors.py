"""Errors raised by Kizuna.

Every error that comes from outside input names where it came from: the file,
the 1-based line and the field, so an operator can open the file and fix it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


class KizunaError(Exception):
    """Base class of every error Kizuna raises on purpose."""


@dataclass(frozen=True)
class FormatIssue:
    """One problem found in an input: where it is and what is wrong."""

    file: str
    line: int
    field: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


class FormatError(KizunaError, ValueError):
    """An input record could not be read.

    Carries the same four facts as :class:`FormatIssue` so callers can report it
    without parsing the message.
    """

    def __init__(self, file: str, line: int, field: str, message: str):
        self.issue = FormatIssue(file=file, line=line, field=field, message=message)
        super().__init__(str(self.issue))

    @property
    def file(self) -> str:
        return self.issue.file

    @property
    def line(self) -> int:
        return self.issue.line

    @property
    def field(self) -> str:
        return self.issue.field


class StoreError(KizunaError):
    """The store could not be opened or written."""


class PropagationError(KizunaError):
    """Propagation could not run at all (as opposed to per-object SGP4 errors)."""
