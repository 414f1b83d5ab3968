"""Plan errors: where in the file, what is wrong, what was expected."""

from __future__ import annotations

from dataclasses import dataclass, field

from tagplan.messages import did_you_mean

__all__ = ["PlanError", "PlanErrors", "did_you_mean"]


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
