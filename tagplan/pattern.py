"""The plan's regular expressions (a property's `pattern`, an import's `date_format`), compiled with RE2.

Python's `re` backtracks: a pattern such as `^([a-z0-9]+\\s?)+$` takes seconds, doubling per character, to
refuse `aaaa…a!`, and it runs on the event loop, so one event would hold up every request. RE2 matches in
time linear in the value whatever the pattern; what it cannot do that way (backreferences, lookarounds) it
refuses to compile, and the plan check refuses the pattern.
"""

from __future__ import annotations

import re

import re2

Pattern = re2._Regexp
"""A compiled pattern: `search`, `match`, `fullmatch` as with `re`."""

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would also print each refused pattern on stderr, past the plan check's message


class PatternError(ValueError):
    """A pattern that cannot be used; `unsupported` when it is a valid Python pattern RE2 cannot match."""

    def __init__(self, reason: str, unsupported: bool):
        super().__init__(reason)
        self.reason, self.unsupported = reason, unsupported


def compile_pattern(pattern: str) -> Pattern:
    """The RE2 form of a plan's pattern, or PatternError saying why there is none."""
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        try:  # the reason in Python's words for a plain mistake, which people know from the docs
            re.compile(pattern)
        except re.error as mistake:
            raise PatternError(mistake.msg, unsupported=False) from None
        reason = exc.args[0].decode(errors="replace") if isinstance(exc.args[0], bytes) else str(exc.args[0])
        raise PatternError(reason, unsupported=True) from None
