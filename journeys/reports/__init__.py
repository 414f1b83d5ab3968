"""Reports: one readable SQL file per report with named parameters, a registry, and the runner.

`run` is THE function behind `parcours report NAME`, `GET /api/reports/NAME` and the dashboard: the
same options (as strings, from flags or a query string), the same SQL, the same figures. A report is
its SQL file run with named parameters ({from:DateTime64(3, 'UTC')} ...), then, only where SQL cannot
go, a small Python step. `respond` adds the rendering (table, csv, json).
"""

from __future__ import annotations

import contextvars
import datetime as dt
from collections.abc import Callable, Mapping
from concurrent import futures
from typing import TYPE_CHECKING, Any, TypeVar

from journeys.reports import funnel, levers, match, overview, paths, person, rejected
from journeys.reports.base import (SEGMENT, Column, Context, Report, ReportError, Result, UnknownReport, for_database,
                                   said, sql_text)
from journeys.reports.options import FILTERS, FORMATS, Options, parse
from journeys.reports.render import MEDIA_TYPES, render

if TYPE_CHECKING:
    from collector.storage import Store
    from tagplan import CompiledPlan

__all__ = ["FILTERS", "FORMATS", "REPORTS", "Column", "Context", "Report", "ReportError", "Result", "options", "respond",
           "run", "sql_for", "sql_text"]

REPORTS: dict[str, Report] = {r.name: r for r in (
    overview.REPORT, funnel.REPORT, levers.LEVERS, levers.CAMPAIGNS, levers.BROKERS, paths.ATTRIBUTION, paths.PATHS,
    paths.MEDIA_POS, match.REPORT, person.REPORT, rejected.REPORT)}
"""Every report by name, in the order `parcours report --help` lists them."""

T = TypeVar("T")
U = TypeVar("U")

_BESIDE = futures.ThreadPoolExecutor(8, thread_name_prefix="parcours-report-beside")
"""The threads of the reports' `beside` work (Report.beside), each in the context of its report's thread (its
ticket, its kept answers); it never waits for another's, so a full pool only queues."""
_PREVIOUS = futures.ThreadPoolExecutor(4, thread_name_prefix="parcours-report-previous")
"""The threads computing the previous period of a report with compare=true, while its own thread computes the
period asked for. Separate from _BESIDE, which they may wait for (a pool whose threads waited for work queued
in the same pool could stop for good)."""


def report(name: str) -> Report:
    try:
        return REPORTS[name]
    except KeyError:
        raise UnknownReport(f'no report "{said(name)}"; reports: {", ".join(REPORTS)}', error_code="report_unknown",
                            report=said(name), reports=list(REPORTS)) from None


def options(name: str, raw: Mapping[str, str | None], now: dt.datetime | None = None) -> Options:
    """The report's options from strings (flags or a query string), checked; a relative period (`from=30d`)
    counted back from `now` (the clock's)."""
    spec = report(name)
    opts = parse(raw, spec.accepts, name, spec.defaults, now, spec.compares)
    if opts.compare and not spec.compares:
        raise ReportError(f"{name} does not compare periods (its JSON is a document); leave compare out",
                          error_code="compare_not_taken", report=name)
    return opts


def run(store: Store, plan: CompiledPlan, name: str, raw: Mapping[str, str | None]) -> Result:
    """Run a report: its SQL with the options as named parameters, then its Python step if any.

    With compare=true, each figure gets a `<figure>_previous` column beside it: the same report over the
    period of the same length just before.
    """
    spec = report(name)
    opts = options(name, raw)
    if not opts.compare:  # options() refuses compare to a report that does not compare
        return _run(Context(store, plan, opts, spec))
    now, before = _at_once(_PREVIOUS, lambda: _run(Context(store, plan, opts.previous, spec)),
                           lambda: _run(Context(store, plan, opts, spec)))
    return _compare(spec, [*spec.keys, opts.by], now, before, limited="limit" in spec.options)


def respond(store: Store, plan: CompiledPlan, name: str, raw: Mapping[str, str | None]) -> tuple[str, str]:
    """The report rendered in raw["format"] (table by default): (body, media type)."""
    fmt = raw.get("format") or "table"
    if fmt not in FORMATS:
        raise ReportError(f'format: "{said(fmt)}" is not known; use one of: {", ".join(FORMATS)}',
                          error_code="choice_unknown", option="format", value=said(fmt), allowed=list(FORMATS))
    return render(run(store, plan, name, raw), fmt), MEDIA_TYPES[fmt]


def sql_for(store_database: str, plan: CompiledPlan, name: str, raw: Mapping[str, str | None]) -> str:
    """The report's SQL preceded by `SET param_…` lines: what to paste into clickhouse-client."""
    spec = report(name)
    opts = options(name, raw)
    used = _used(Context(None, plan, opts, spec))  # type: ignore[arg-type]  (no store needed)
    lines = [f"SET param_{k} = {_literal(v)};" for k, v in used.items()]
    if opts.compare:
        # The `_previous` figures: the same SQL over the period before. As comments, so that the text still runs
        # as one statement (this period's); where it printed this period's alone, as if that were all.
        before = _used(Context(None, plan, opts.previous, spec))  # type: ignore[arg-type]
        keys = ", ".join(k for k in (*([SEGMENT] if opts.by else []), *spec.keys) if k in spec.column_names)
        lines += ["", f"-- --compare: each figure's `_previous` is this SQL's over the period before, run with these "
                      f"values instead, its rows matched on {keys}:",
                  *[f"-- SET param_{k} = {_literal(v)};" for k, v in before.items() if used.get(k) != v]]
    return "\n".join(lines) + "\n\n" + for_database(sql_text(spec.sql), store_database)


def _used(ctx: Context) -> dict[str, Any]:
    """The parameters of the report's SQL file that it uses, with their values."""
    return {k: v for k, v in parameters(ctx).items() if "{" + k + ":" in sql_text(ctx.report.sql)}


def parameters(ctx: Context) -> dict[str, Any]:
    """Every named parameter of the report's SQL file."""
    out: dict[str, Any] = {"from": ctx.options.start, "to": ctx.options.end, **ctx.options.filters}
    if ctx.report.parameters:
        out.update(ctx.report.parameters(ctx))
    return out


def _run(ctx: Context) -> Result:
    named = parameters(ctx)  # the options checked before any query begins
    if ctx.report.beside:
        result, ctx.beside = _at_once(_BESIDE, lambda: ctx.report.beside(ctx),
                                      lambda: ctx.query(ctx.report.sql, named))
    else:
        result = ctx.query(ctx.report.sql, named)
    if ctx.report.post:
        result = ctx.report.post(ctx, result)
    if result.document is None and result.columns != ctx.report.column_names:
        raise AssertionError(f"{ctx.report.name}: columns {result.columns} differ from the documented "
                             f"{ctx.report.column_names}")
    return _name_segment(result, ctx.options.by)


def _at_once(pool: futures.ThreadPoolExecutor, other: Callable[[], T], own: Callable[[], U]) -> tuple[U, T]:
    """own() on this thread and other() on one of `pool`'s, in this thread's context (its ticket, its kept
    answers), at the same time, their queries on two connections: (own's value, other's). Both have ended when
    it returns or raises, whatever became of either (own's error first)."""
    theirs = pool.submit(contextvars.copy_context().run, other)
    try:
        mine = own()
    finally:
        futures.wait([theirs])
    return mine, theirs.result()


def _name_segment(result: Result, by: str) -> Result:
    """The breakdown's column, `segment` in the SQL, named for it (`campaign`, `broker`...), or left out."""
    if SEGMENT not in result.columns:
        return result
    i = result.columns.index(SEGMENT)
    if by:
        return Result([by if c == SEGMENT else c for c in result.columns], result.rows, result.document)
    return Result([c for c in result.columns if c != SEGMENT], [r[:i] + r[i + 1:] for r in result.rows],
                  result.document)


def _compare(spec: Report, key_columns: list[str], now: Result, before: Result, limited: bool = False) -> Result:
    """`now`'s rows, each figure with its `_previous` beside it, then the rows found only `before` (a lever with
    sales then and none now), except in a report of the first `limit` rows, whose rows are this period's first.
    A figure of a row that one period lacks reads there what its column's `absent` says (0 for a count or an
    amount, null for a ratio): a lever without a visit then had 0 visits, not an unknown number."""
    keys = [c for c in now.columns if c in key_columns]
    figures = [c for c in now.columns if c not in key_columns]
    absent = {c.name: c.absent for c in spec.columns}
    now_rows, before_rows = now.records(), before.records()

    def lacking(row: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
        return {c: absent[c].value(row, c, rows) if absent.get(c) else None for c in figures}

    earlier = {tuple(r[k] for k in keys): r for r in before_rows}
    columns = [x for c in now.columns for x in ((c, f"{c}_previous") if c in figures else (c,))]
    rows, seen = [], set()
    for row in now_rows:
        key = tuple(row[k] for k in keys)
        seen.add(key)
        old = earlier.get(key) or lacking(row, before_rows)
        rows.append([x for c in now.columns for x in ((row[c], old[c]) if c in figures else (row[c],))])
    for key, old in earlier.items():
        if key not in seen and not limited:
            new = lacking(old, now_rows)
            rows.append([x for c in now.columns for x in ((new[c], old[c]) if c in figures else (old[c],))])
    return Result(columns, rows)


def _literal(value: Any) -> str:
    """A parameter value as clickhouse-client's SET param_x reads it (the value's text, quoted)."""
    import datetime as dt

    if isinstance(value, dt.datetime):
        text = value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    elif isinstance(value, (list, tuple)):
        text = _ch(value)
    elif isinstance(value, bool):
        text = "1" if value else "0"
    else:
        text = str(value).translate(_ESCAPED)
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


_ESCAPED = str.maketrans({"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"})
"""A String parameter's text as ClickHouse reads it (escaped: `\\n` a line break), then quoted for SET: a value
with a backslash or a line break (`promo\\new`) was read as another value, and the pasted SQL found nothing."""


def _ch(value: Any) -> str:
    """An array or tuple as ClickHouse literal text."""
    if isinstance(value, list):
        return "[" + ", ".join(_ch(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(_ch(v) for v in value) + ")"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value.translate(_ESCAPED).replace("'", "\\'") + "'"
    return str(value)
