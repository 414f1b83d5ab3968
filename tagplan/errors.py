"""Plan errors: where in the file, what is wrong, what was expected."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from tagplan.messages import check as say
from tagplan.messages import did_you_mean

__all__ = ["PlanError", "PlanErrors", "Problem", "Report", "did_you_mean", "problem"]


class Problem(NamedTuple):
    """A mistake found in the plan's content, before it is placed in a file: the loader attaches the line."""

    path: list[str | int]
    """Keys and indexes from the document root, e.g. ["forms", "quote", "steps", 1, "id"]."""
    code: str
    """The message's key in tagplan.messages.CHECK."""
    message: str


def problem(path: list[str | int], code: str, **fields: object) -> Problem:
    """A Problem with its message written from the template `code`."""
    return Problem(path, code, say(code, **fields))


Report = Callable[..., None]
"""`report(path, code, **fields)`: adds one problem (the cross-part rules' way to say one)."""


@dataclass(frozen=True, order=True)
class PlanError:
    file: str
    line: int
    col: int
    message: str
    code: str = field(default="", compare=False)
    """The message's key in tagplan.messages.CHECK, for tools."""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.message}"

    def to_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "col": self.col, "code": self.code, "message": self.message}


class PlanErrors(Exception):
    """Every mistake found in a plan, sorted by position."""

    def __init__(self, errors: list[PlanError]):
        self.errors = sorted(errors)
        super().__init__("\n".join(str(e) for e in self.errors))
