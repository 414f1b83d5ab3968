"""Results as documents (the JSON the admin API sends) and as text (what the CLI prints).

Both sides of a command print the same: a result computed on a Store opened by the CLI goes through
`as_document` too, so times are ISO text and UUIDs strings whichever way it was obtained.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from collections.abc import Iterable
from typing import Any

import msgspec

from collector.storage import QueryResult


SLICE = 10_000
"""Rows of a QueryResult written as JSON in one call (`encode`): a call holds the interpreter, and with it every
other request (a million rows in one: 0.1 s)."""


def encode(value: Any) -> bytes:
    """A result as the admin API's JSON body: a QueryResult as {"columns", "rows"}, a dataclass as its fields."""
    if isinstance(value, QueryResult):
        rows = value.rows
        parts = [msgspec.json.encode({"columns": value.columns, "rows": []})[:-2]]
        for start in range(0, len(rows), SLICE):
            parts.append(b"," if start else b"")
            parts.append(msgspec.json.encode(rows[start:start + SLICE], enc_hook=str)[1:-1])
        return b"".join([*parts, b"]}"])
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    return msgspec.json.encode(value, enc_hook=str)


def as_document(value: Any) -> Any:
    """A result as a client of the admin API decodes it."""
    return msgspec.json.decode(encode(value))


def as_result(doc: dict[str, Any]) -> QueryResult:
    """A {"columns", "rows"} document as a QueryResult, to print."""
    return QueryResult(doc["columns"], doc["rows"])


FORMATS = ("table", "json", "tsv")


def format_result(result: QueryResult, fmt: str) -> str:
    """Rows as an aligned text table, JSON lines or TSV."""
    if fmt == "json":
        return "".join(json.dumps(dict(zip(result.columns, row)), default=str, ensure_ascii=False) + "\n"
                       for row in result.rows)
    cells = [[_cell(v) for v in row] for row in result.rows]
    if fmt == "tsv":
        return "".join("\t".join(r) + "\n" for r in [result.columns, *cells])
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(result.columns)]
    out = [" | ".join(c.ljust(w) for c, w in zip(result.columns, widths)), "-+-".join("-" * w for w in widths)]
    out += [" | ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    out.append(f"({len(cells)} row{'s' if len(cells) != 1 else ''})")
    return "\n".join(out) + "\n"


def csv_text(rows: Iterable[Iterable[Any]], delimiter: str = ",") -> str:
    """RFC 4180 lines, each ended by `\\n`. Python's writer quotes a field that holds a character of its own line
    ending only: with `\\n`, a campaign holding a carriage return (`utm_campaign=a%0Db` is stored as sent) was
    left unquoted, and every reader split its row in two. Written with `\\r\\n`, which each line then leaves.
    `delimiter`: `;` for Excel in French (the reports' `excel` format).

    A text holding a list separator other than `delimiter` (`;` or a tab in a CSV of `,`, `,` in one of `;`) is
    quoted too: Excel opens a CSV by its locale's separator, whatever the file's (the API's CSV in a French Excel,
    split on `;`), and a campaign `x;=1+1` left unquoted began a cell of its own with `=`, run as a formula
    (spreadsheet_text only sees a cell's start). Quoted, the text stays one cell; where a cell before it still
    splits the line, the formula it begins holds an odd number of `"` and is no formula."""
    out, lines = io.StringIO(), []
    writer = csv.writer(out, lineterminator="\r\n", delimiter=delimiter)
    others = re.compile("[" + "".join(re.escape(c) for c in ",;\t" if c != delimiter) + "]")
    for row in rows:
        row = list(row)
        writer.writerow(row)
        line = out.getvalue()[:-2]
        out.seek(0)
        out.truncate()
        if any(isinstance(v, str) and others.search(v) and not _DECIMAL_COMMA.fullmatch(v) for v in row):
            line = delimiter.join(_quoted(v, delimiter, others) for v in row)
        lines.append(line + "\n")
    return "".join(lines)


_DECIMAL_COMMA = re.compile(r"-?[0-9]+(?:,[0-9]+)?")
"""A number as the `excel` format writes it (-12,50): a figure, no text to quote."""


def _quoted(value: Any, delimiter: str, others: re.Pattern) -> str:
    """A cell as csv.writer writes it, quoted also when it is a text holding another list separator."""
    text = "" if value is None else str(value)
    if any(c in text for c in (delimiter, '"', "\r", "\n")) or (
            isinstance(value, str) and others.search(text) and not _DECIMAL_COMMA.fullmatch(text)):
        return '"' + text.replace('"', '""') + '"'
    return text


BOM = "\ufeff"
"""What a CSV file for Excel begins with: without it, Excel reads UTF-8 as Latin-1 ("Coût" as "CoÃ»t")."""


FORMULA = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet reads as the start of a formula in a cell."""


NUMBER = re.compile(r"[+-]?[0-9][0-9.]*")
"""Text that is a number (a phone in E.164, -12.5): no formula, left as it is (a call centre's dialler reads
+33612345678)."""


def spreadsheet_text(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as it is: text anyone can put in a URL (utm_campaign==HYPERLINK(...)) is
    never run as a formula by the spreadsheet a marketer opens the file in; a leading quote keeps it text
    (OWASP's advice). Numbers, as values or as text, and other values unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA) and not NUMBER.fullmatch(value):
        return "'" + value
    return value


def spreadsheet_sql(column: str) -> str:
    """The same rule in ClickHouse SQL, for a String column a CSV is written from: FORMULA's characters as a
    regular expression's class ('-' first, tab and CR escaped in the SQL string), NUMBER as it is."""
    starts = "".join({"\t": "\\t", "\r": "\\r"}.get(c, c) for c in sorted(FORMULA, key=lambda c: c != "-"))
    return (f"if(match({column}, '^[{starts}]') AND NOT match({column}, '^(?:{NUMBER.pattern})$'), "
            f"concat('\\'', {column}), {column})")


def short(value: Any, width: int = 80) -> str:
    """A value cut to `width` characters, for a table cell read at a glance."""
    text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)
