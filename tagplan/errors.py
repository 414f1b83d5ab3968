"""Plan errors: where in the file, what is wrong, what was expected."""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class PlanError:
    file: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.message}"

    def to_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "col": self.col, "message": self.message}


class PlanErrors(Exception):
    """Every mistake found in a plan, sorted by position."""

    def __init__(self, errors: list[PlanError]):
        self.errors = sorted(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


def did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""
