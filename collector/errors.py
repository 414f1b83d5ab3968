"""Errors for people: `Problem`, whose message says what is wrong and how to fix it, and the JSON error body.

A `Problem` raised anywhere below a command or an admin endpoint reaches the user as it is: the CLI prints
its message (`Error: …`, exit 1), the admin API answers `{"error": message}` with its `status`. Raise a
subclass (a bad parameter 400, ClickHouse out of reach 503) and neither side needs code of its own for it.

A problem may also carry a stable `error_code` and the `error_values` its message was written from: the API
answers them beside the message (`{"error": …, "code": …, "values": {…}}`), so that a program, or the dashboard
in French, can say it in its own words without reading the English message.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import JSONResponse


class Problem(Exception):
    """Something the user can act on; the message is for people (no Python type names, no traceback)."""

    status = 400
    """The admin API's answer for it."""
    error_code: str | None = None
    """A stable name of what is wrong (`period_order`), for programs; None: the message only."""

    def __init__(self, message: str = "", *, error_code: str | None = None, **values: object):
        super().__init__(message)
        if error_code is not None:
            self.error_code = error_code
        self.error_values = values
        """What the message names (the option, the value refused, what is allowed), by name."""


class BadParameter(Problem):
    """A request or command parameter that cannot be used; the message names it."""


_FLAGS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False, "": False}


def flag(params: Mapping[str, str], name: str) -> bool:
    """A query string's flag: true/1/yes or false/0/no (absent or empty: false); anything else (`dry_run=on`,
    read as false, imported for real) is a BadParameter."""
    value = params.get(name, "")
    if value.lower() not in _FLAGS:
        raise BadParameter(f'{name}: "{value[:40]}" is not a flag; send {name}=true or {name}=false')
    return _FLAGS[value.lower()]


class Cutoff(Exception):
    """Raised by a streamed response that fails after its status was sent: the server cuts the connection
    off, so the client sees an incomplete transfer instead of a short one that looks whole. Logged in one
    line (logs.py), not as a traceback."""


def error(status: int, message: str, headers: dict[str, str] | None = None, code: str | None = None,
          values: Mapping[str, object] | None = None) -> JSONResponse:
    """The JSON body of a refusal: the message for people, with its stable code and values when it has them."""
    body: dict[str, object] = {"error": message}
    if code is not None:
        body["code"] = code
        body["values"] = {k: v if isinstance(v, (str, int, float, bool, list)) or v is None else str(v)
                          for k, v in (values or {}).items()}
    return JSONResponse(body, status_code=status, headers=headers)
