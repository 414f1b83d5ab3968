"""The funnel report: a form's steps from the plan, turned into the chains funnel.sql follows."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from journeys.reports.base import COUNTED, SEGMENT, Absent, Column, Context, Report, ReportError, said
from journeys.reports.options import FILTERS
from journeys.touches import view_parameters
from tagplan.model import Form

MAX_CHAIN = 32
"""windowFunnel's limit on conditions: a chain of required steps plus the submit."""
MAX_STEPS = 1023
"""The steps funnel.sql counts the events and times of (its -Resample combinators' range, 0 to 1,023)."""


def chains(form: Form) -> tuple[list[list[int]], list[tuple]]:
    """The chains to follow (step indexes, 0 for the submit) and the funnel's lines, for funnel.sql.

    Chain 1 is the required steps then the submit: a required step is reached at its level in it. An
    optional step gets a chain of its own, the required steps before it then it, reached at its end. Each
    line also names the previous required step's line, and its chain (1) and level.
    """
    required = [i for i, step in enumerate(form.steps, start=1) if not step.optional]
    paths: list[list[int]] = [[*required, 0]]
    rows: list[tuple] = []
    previous = 0  # the line of the last required step so far, and its level in chain 1
    for i, step in enumerate(form.steps, start=1):
        before = [j for j in required if j < i]
        if step.optional:
            paths.append([*before, i])
            chain, level = len(paths), len(before) + 1
        else:
            chain, level = 1, len(before) + 1
        rows.append((i, i, step.id, step.label or step.id, step.optional, chain, level, previous, 1, len(before)))
        if not step.optional:
            previous = i
    n = len(form.steps) + 1
    rows.append((n, 0, "submit", "submit", False, 1, len(required) + 1, previous, 1, len(required)))
    if len(form.steps) > MAX_STEPS:
        raise ReportError(f"the funnel follows a form of at most {MAX_STEPS:,} steps", error_code="funnel_too_long",
                          limit=MAX_STEPS)
    if max(len(p) for p in paths) > MAX_CHAIN:
        raise ReportError(f"the funnel follows at most {MAX_CHAIN - 1} required steps (ClickHouse's windowFunnel)",
                          error_code="funnel_too_many_required", limit=MAX_CHAIN - 1)
    return paths, rows


_CONDITION = re.compile(r",\s*place = (\d+)")
_ARRAY_CONDITION = re.compile(r",\s*arrayMap\(place -> place = (\d+), places\)")
SEGMENTS = frozenset({"funnel_segments", "funnel_segment_rows", "funnel_by_segment"})
"""The fragments of funnel.sql only a breakdown or a filter reads."""
WHOLE = frozenset({"funnel_whole"})
"""The fragment of funnel.sql only the whole funnel reads (no breakdown, no filter)."""


def leave_out(parameters: Mapping[str, Any]) -> frozenset[str]:
    """The fragments of funnel.sql these parameters read nothing from: without a breakdown or a filter, the
    segments (their joins cost about 0.4 CPU s on 10 million events even when they keep nothing); with one,
    the whole funnel's counts (whose subqueries ClickHouse would still compute: 0.4 s)."""
    return WHOLE if any(parameters[k] for k in ("by", *FILTERS)) else SEGMENTS


_EACH_CHAIN = """\
    ARRAY JOIN {chains:Array(Array(UInt16))} AS chain,
               arrayEnumerate({chains:Array(Array(UInt16))}) AS chain_number
    GROUP BY visitor_id, chain_number
"""
_ONE_CHAIN = """\
    GROUP BY visitor_id, {chains:Array(Array(UInt16))}[1] AS chain, 1 AS chain_number
"""
_PLACES = re.compile(r"\(indexOf\(chain, code\) AS place\) = 1(?:,\s*place = \d+)*")
_EACH_CHAIN_ARRAYS = """\
            SELECT visitor_id, times, chain_number, arrayMap(code -> indexOf(chain, code), codes) AS places
            FROM form_sessions
            ARRAY JOIN {chains:Array(Array(UInt16))} AS chain,
                       arrayEnumerate({chains:Array(Array(UInt16))}) AS chain_number
"""
_ONE_CHAIN_ARRAYS = """\
            SELECT visitor_id, times, codes, 1 AS chain_number
            FROM form_sessions
"""
_ARRAY_PLACE = re.compile(r"arrayMap\(place -> place = (\d+), places\)")


def shorten(sql: str, parameters: Mapping[str, Any]) -> str:
    """funnel.sql with windowFunnel's conditions up to the longest chain's length only (ClickHouse evaluates
    each of the 32 for every step event: 0.5 CPU s on 10 million events); with a single chain (no optional
    step), the chain a constant rather than an ARRAY JOIN of every step event (or form session) with the
    chains (0.2 CPU s), and each condition the step's index compared with the event's, not its place in the
    chain looked up (0.04 CPU s). The same levels."""
    chains = parameters["chains"]
    longest = max(len(chain) for chain in chains)
    sql = _CONDITION.sub(lambda m: m.group(0) if int(m.group(1)) <= longest else "", sql)
    sql = _ARRAY_CONDITION.sub(lambda m: m.group(0) if int(m.group(1)) <= longest else "", sql)
    if len(chains) == 1:
        if _EACH_CHAIN not in sql or not _PLACES.search(sql):
            raise AssertionError("funnel.sql: the levels' chains and conditions are not where shorten looks")
        sql = sql.replace(_EACH_CHAIN, _ONE_CHAIN)
        steps = ", ".join(f"code = {step}" for step in chains[0])
        sql = _PLACES.sub(steps, sql, count=1)
        if _ARRAY_PLACE.search(sql):  # the whole funnel's levels (funnel_whole.sql), when it is read
            if _EACH_CHAIN_ARRAYS not in sql:
                raise AssertionError("funnel_whole.sql: the levels' chains are not where shorten looks")
            sql = sql.replace(_EACH_CHAIN_ARRAYS, _ONE_CHAIN_ARRAYS)
            sql = _ARRAY_PLACE.sub(lambda m: f"arrayMap(code -> code = {chains[0][int(m.group(1)) - 1]}, codes)", sql)
    return sql


def form_of(ctx: Context) -> tuple[str, Form]:
    forms = ctx.plan.plan.forms
    if not forms:
        raise ReportError("the plan declares no form: the funnel follows a form's steps", error_code="no_form")
    name = ctx.options.form or next(iter(forms))
    if name not in forms:
        raise ReportError(f'form: the plan has no form "{said(name)}"; forms: {", ".join(forms)}',
                          error_code="form_unknown", form=said(name), forms=list(forms))
    return name, forms[name]


BREAKDOWNS = ("lever", "campaign", "broker", "device")


def parameters(ctx: Context) -> dict[str, Any]:
    name, form = form_of(ctx)
    paths, rows = chains(form)
    by = ctx.breakdown(BREAKDOWNS, properties=True)
    return {"form": name, "chains": paths, "rows": rows, "window_ms": ctx.options.window * 1000,
            "by": by, "property": "" if by in BREAKDOWNS else by,
            **_landing_window(ctx, by), **view_parameters(ctx.plan)}


def _landing_window(ctx: Context, by: str) -> dict[str, dt.datetime]:
    """The touches funnel.sql reads for the landings: the sessions begun in the period or the day before, only
    when a breakdown or a filter needs their lever, campaign or broker; else an empty window (the touches
    view's own lookups, about 0.3 CPU s on 10 million events, then read nothing)."""
    start = ctx.options.start - dt.timedelta(days=1)
    o = ctx.options
    needed = by in ("lever", "campaign", "broker") or any((o.lever, o.campaign, o.broker))
    return {"touches_from": start, "touches_to": ctx.options.end if needed else start}


REPORT = Report(
    name="funnel",
    title="Funnel of a form, step by step",
    sql="funnel.sql",
    columns=(
        Column(SEGMENT, "with `--by`: the visitor's segment, the lever, campaign or broker of the session where they "
                        "started the form, its device type, or the first value of a property of the plan among their "
                        "events of the period; the field is named after the breakdown"),
        Column("step_index", "the step's 1-based position in the plan; 0 for the submit line"),
        Column("step", "the step's id in the plan; `submit` for the last line"),
        Column("label", "the step's label in the plan (its id when it has none)"),
        Column("optional", "true for a step marked `optional: true` in the plan"),
        Column("visitors", "visitors who completed this step after every required earlier step, in order, "
                           "within the window of the first", absent=COUNTED),
        Column("completions", "distinct `form_step` events of this step; on the submit line, distinct "
                              "`form_submit` events: the leads", absent=COUNTED),
        Column("from_first", "visitors / visitors of the first step (null when the first has none)"),
        Column("from_previous", "visitors / visitors of the previous required step (null on the first line)"),
        Column("drop_off", "visitors of the previous required step minus visitors of this one (null on the "
                           "first line)",
               absent=Absent(lambda row, rows: row["drop_off"] is not None, "0, but null on the first line")),
        Column("abandons", "sessions whose last `form_abandon` named this step and that sent no `form_submit` "
                           "of the form", absent=COUNTED),
        Column("median_seconds", "median of `step_elapsed_ms` / 1000 over this step's events: the time spent "
                                 "on the step (null on the submit line)"),
        Column("p90_seconds", "90th percentile of the same"),
    ),
    keys=("step_index", "step", "label", "optional"),
    options=frozenset({"form", "window", "by"}),
    parameters=parameters,
    leave_out=leave_out,
    shorten=shorten,
)
