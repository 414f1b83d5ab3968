"""A report's result as an aligned text table, CSV, or JSON (an array of row objects, or its document)."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import uuid
from typing import Any

import msgspec

from collector.output import BOM, csv_text, spreadsheet_text
from journeys.reports.base import Result

MEDIA_TYPES = {"table": "text/plain; charset=utf-8", "csv": "text/csv; charset=utf-8",
               "excel": "text/csv; charset=utf-8", "json": "application/json"}


def render(result: Result, fmt: str) -> str:
    """The result in one of MEDIA_TYPES' formats; every format holds the same values."""
    if fmt == "json":
        doc = result.document if result.document is not None else result.records()
        return _JSON.encode(plain(doc)).decode() + "\n"
    if fmt == "csv":
        return csv_text([result.columns, *([_csv_cell(v) for v in row] for row in result.rows)])
    if fmt == "excel":
        # Excel in French (as in most of Europe) opens a CSV by its list separator, `;`, and reads `,` as the
        # decimal mark: the CSV above opened as one column, 0.75 as a date or text.
        return BOM + csv_text([result.columns, *([_excel_fr_cell(v) for v in row] for row in result.rows)], ";")
    return _table(result)


_JSON = msgspec.json.Encoder(decimal_format="number")
"""Decimals (revenue, cost) written as JSON numbers with their exact digits: 702.40, never 702.3999999."""


def plain(value: Any) -> Any:
    """JSON values: ISO 8601 UTC times, exact numbers for decimals, null for a rate with nothing to divide."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, decimal.Decimal):
        return value if value.is_finite() else None
    if isinstance(value, dt.datetime):
        value = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _csv_cell(value: Any) -> Any:
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return spreadsheet_text(value)


def _excel_fr_cell(value: Any) -> Any:
    """A CSV cell as `_csv_cell` writes it, a number with a decimal comma: the same digits, never an exponent
    (1e-05 as 0,00001), so French Excel reads it as the number it is."""
    value = plain(value)
    if isinstance(value, float):
        return format(decimal.Decimal(repr(value)), "f").replace(".", ",")
    if isinstance(value, decimal.Decimal):
        return format(value, "f").replace(".", ",")
    return _csv_cell(value)


def _table(result: Result) -> str:
    # A column with a fraction of 10 or more shows each of its fractions to 2 places, as that one: a column read
    # 9 under 12.00 (sales credited in part).
    wide = [any(isinstance(v := plain(row[i]), float) and abs(v) >= 10 for row in result.rows)
            for i in range(len(result.columns))]
    cells = [[_text(v, wide[i]) for i, v in enumerate(row)] for row in result.rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(result.columns)]
    numeric = [all(_is_number(row[i]) for row in result.rows) and result.rows for i in range(len(result.columns))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(result.columns, widths)).rstrip(),
             "-+-".join("-" * w for w in widths)]
    for r in cells:
        lines.append(" | ".join(v.rjust(w) if numeric[i] else v.ljust(w)
                                for i, (v, w) in enumerate(zip(r, widths))).rstrip())
    lines.append(f"({len(cells)} row{'s' if len(cells) != 1 else ''})")
    return "\n".join(lines) + "\n"


def _is_number(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool))


def _text(value: Any, money_like: bool = False) -> str:
    value = plain(value)
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, decimal.Decimal):
        return f"{value:,.2f}"
    if isinstance(value, float):
        # Rates and shares read to 4 places; money and counts to 2.
        return f"{value:.4f}".rstrip("0").rstrip(".") if abs(value) < 10 and not money_like else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value).translate(_SHOWN)


_SHOWN = str.maketrans({"\n": "\\n", "\r": "\\r", "\t": "\\t"})
"""A line break or tab in a text (a campaign is anyone's URL text: utm_campaign=a%0Ab) as its escape in the table:
written as it was, it broke the row in two and the columns out of line."""
