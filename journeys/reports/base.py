"""What a report is: its SQL file, its documented columns, its parameters and its Python steps."""

from __future__ import annotations

import decimal
import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from collector.errors import BadParameter
from collector.redact import phone_like

if TYPE_CHECKING:
    from collector.storage import Store
    from journeys.reports.options import Options
    from tagplan import CompiledPlan

DATABASE = "parcours"
SEGMENT = "segment"
"""The breakdown's column in a report's SQL: named for the breakdown (`--by campaign`), or left out without one."""
_QUALIFIED = re.compile(r"\bparcours\.(?=[a-z_]+\b)")


class ReportError(BadParameter):
    """A report asked for in a way it cannot answer (a bad option: 400); the message is for people."""


class UnknownReport(ReportError):
    """No report of that name (404)."""

    status = 404


CENT = decimal.Decimal("0.01")


def money(amount: Any) -> decimal.Decimal:
    """An amount as an exact decimal to the cent (an attributed share of revenue is rounded to the cent)."""
    return decimal.Decimal(amount).quantize(CENT, rounding=decimal.ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Absent:
    """What a figure reads, compared (compare=true), in the period that lacks its row (a lever without a visit
    then): 0, of the type its value has in the other period (an int, a float, an amount to the cent), where `holds`
    does for (the row in the period that has it, the other period's rows) (always, without one); else null."""

    holds: Callable[[Mapping[str, Any], list[Mapping[str, Any]]], bool] | None = None
    when: str = ""
    """What it reads, for docs/analysts.md, with a `holds` (`0 when that period has conversions, else null`)."""

    def value(self, row: Mapping[str, Any], name: str, rows: list[Mapping[str, Any]]) -> Any:
        if self.holds and not self.holds(row, rows):
            return None
        present = row[name]
        if isinstance(present, decimal.Decimal):
            return CENT * 0
        return 0.0 if isinstance(present, float) else 0


COUNTED = Absent()
"""A count or an amount: 0 in a period without the row (nothing was counted there)."""


@dataclass(frozen=True)
class Column:
    name: str
    description: str
    """One line for docs/analysts.md: what the figure counts, exactly as the SQL computes it."""
    absent: Absent | None = None
    """Compared, its value in the period that lacks the row: COUNTED (0) for a count or an amount; None (null) for
    a ratio, an average or a time, which have nothing to divide or measure there (and a cost, null when none is
    imported)."""


@dataclass
class Result:
    """A report's output: columns and rows, in the order shown; `document` is its JSON when that is not
    an array of row objects (a summary object such as the match report's)."""

    columns: list[str]
    rows: list[list[Any]]
    document: Any = None

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row)) for row in self.rows]


@dataclass(frozen=True)
class Report:
    """One entry of the registry: name -> SQL file + parameters + optional Python post-processing."""

    name: str
    title: str
    sql: str
    """The SQL file in journeys/reports/ (several reports may share one, with different post-processing)."""
    columns: tuple[Column, ...]
    keys: tuple[str, ...] = ()
    """Columns that name a row (lever, step...); the others are figures, compared with the previous period."""
    options: frozenset[str] = frozenset()
    """Options this report takes besides from, to and format."""
    parameters: Callable[[Context], dict[str, Any]] | None = None
    """The SQL's named parameters beyond from and to, from the options and the plan."""
    post: Callable[[Context, Result], Result] | None = None
    """Python after the SQL, where SQL cannot go (the Markov solve); None for SQL-only reports."""
    compares: bool = True
    """Whether compare=true adds the previous period's figures (not to a report whose JSON is a document)."""
    beside: Callable[[Context], Any] | None = None
    """What its post needs that does not depend on its SQL's rows (the sales the attribution credits, for the
    levers and brokers): begun on another thread, its queries on another connection, when the SQL is, so that
    both run at once; its value is `Context.beside` when post runs."""
    defaults: Mapping[str, str] = field(default_factory=dict)
    """Option values this report uses when none is given (e.g. campaigns: by=campaign)."""
    filters: bool = True
    """Whether it takes the filters (lever, campaign, broker, device); a person's journey does not."""
    leave_out: Callable[[Mapping[str, Any]], frozenset[str]] | None = None
    """The fragments of its SQL file (see sql_text) that read nothing for these parameters, left out when it runs
    (the funnel's segments, without a breakdown or a filter). Analysts read the whole file."""
    shorten: Callable[[str, Mapping[str, Any]], str] | None = None
    """Its SQL text as run for these parameters, made shorter with the same result (the funnel's windowFunnel
    conditions that no chain of the form reaches)."""

    @property
    def accepts(self) -> frozenset[str]:
        """Every option it takes besides from, to, compare and format."""
        from journeys.reports.options import FILTERS

        return self.options | frozenset(FILTERS) if self.filters else self.options

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


@cache
def sql_text(filename: str, leave_out: frozenset[str] = frozenset()) -> str:
    """A report's SQL as analysts read it (for the database `parcours`): its file in the package, each line
    that reads `{fragment}` (then perhaps a comma) replaced by the file `fragment.sql`, shared by several
    reports (a ClickHouse parameter always has a type, `{name:Type}`, so the two never mix). The fragments
    named in `leave_out` are dropped instead: the runner's, for a branch it knows to be empty."""
    text = resources.files("journeys.reports").joinpath(filename).read_text(encoding="utf-8")

    def fragment(m: re.Match) -> str:
        if m.group(1) in leave_out:
            return ""
        return sql_text(m.group(1) + ".sql", leave_out).rstrip() + m.group(2)

    return _FRAGMENT.sub(fragment, text)


_FRAGMENT = re.compile(r"^\{(\w+)\}(,?)$", re.M)
_CALL_TOUCHES = "parcours.call_touches("

Derive = Callable[[Result], "Result | None"]
Wider = tuple[tuple, Derive, Callable[[], Result], bool]
"""A query whose result gives another's: (its key, how the other's result is read off its result (None when it
cannot be), how it is computed, whether it is computed in the other's place when neither is shared yet)."""

SHARED: ContextVar[Callable[[tuple, Callable[[], Result], list[Wider]], Result] | None] = ContextVar(
    "shared_queries", default=None)
"""Set by the kept answers (journeys/reports/results.py, Results.shared) while they compute reports from one state
of the data: a query asked again with the same text and parameters (the dashboard's levers and paths read the
same conversion paths) gets the result of the first, computed once; one whose result can be read off a wider
query's (WIDER) gets it from that one's, when it is shared. Results are read, never changed."""

WIDER: dict[str, Callable[[Mapping[str, Any]], list[tuple[dict[str, Any], Derive, bool]]]] = {}
"""Per SQL file, for a query's parameters: the parameters of the queries of the same file whose result also gives
its result, each with how it is read off theirs and whether that one is computed in its place (registered by
journeys/reports/paths.py for conversion_paths.sql)."""

_COLUMNS: dict[str, list[str]] = {}
"""The column names of each query text run (for the database it names), for its empty results."""


def for_database(sql: str, database: str) -> str:
    """The SQL with its `parcours.` tables in another database (tests use one database each)."""
    return sql if database == DATABASE else _QUALIFIED.sub(f"{database}.", sql)


UNSPLIT_TYPES = ("phone", "email", "url", "date", "datetime")
"""Property types no breakdown takes: values that name a person or a page, or a time, each visitor's own."""


def declared_properties(plan: CompiledPlan) -> dict[str, str]:
    """Every property name the plan declares (events, form steps, submits) -> why a breakdown may not use it ('':
    it may). Not personal data (`pii`), an identity key (the quote id finds a person), or a type of
    UNSPLIT_TYPES: a breakdown by one would list a value per visitor."""
    from tagplan.crosscheck import properties

    out: dict[str, str] = {}
    for parts, prop in properties(plan.plan):
        name = str(parts[-1])
        why = ("is personal data (pii)" if prop.pii else
               "is an identity key of the plan: it would list every visitor's value" if name in plan.plan.identity
               else f"is a {prop.type}: it would list every visitor's value" if prop.type in UNSPLIT_TYPES else "")
        out[name] = out.get(name) or why
    return dict(sorted(out.items()))


def said(text: str) -> str:
    """A person's text quoted in an error message: its first 40 characters, a phone number in them masked (a
    message is shown, and may be logged); a date as it is (values.shown_as_a_time)."""
    from journeys.values import shown_as_a_time

    text = str(text)  # masked, then cut: cut first, a number across the cut no longer reads as one
    return (text if shown_as_a_time(text) else phone_like(text))[:40]


@dataclass
class Context:
    """What a report's parameters and post-processing may use: the store, the plan and the options."""

    store: Store
    plan: CompiledPlan
    options: Options
    report: Report
    beside: Any = None
    """The value of the report's `beside`, once its SQL has run."""

    def breakdown(self, allowed: tuple[str, ...], properties: bool = False) -> str:
        """The `by` option checked against what this report can split by (and the plan's properties)."""
        by = self.options.by
        if not by or by in allowed:
            return by
        declared = declared_properties(self.plan) if properties else {}
        if by in declared and not declared[by]:
            return by
        if by in declared:
            raise ReportError(f'by: the property "{by}" {declared[by]}; {self.report.name} splits by '
                              f'{", ".join(allowed)} or a property of the plan that names no one',
                              error_code="breakdown_personal", by=by, report=self.report.name)
        known = [*allowed, "a property of the plan"] if properties else list(allowed)
        raise ReportError(f'by: "{said(by)}" is not known; {self.report.name} splits by {", ".join(known)}',
                          error_code="breakdown_unknown", by=said(by), report=self.report.name, allowed=list(allowed))

    @property
    def lookback(self) -> int:
        """Seconds of touches counted before a conversion: the option, else the plan's
        reconciliation.lookback_days."""
        return self.options.lookback or self.plan.plan.reconciliation.lookback_days * 86400

    def filter_window(self) -> dict[str, Any]:
        """The parameters of a report's `filter_visits`: the visits a filtered conversion may have had (the
        lookback before the period, and the period); without filters, an empty range in 1970 (nothing read)."""
        import datetime as dt

        if self.options.filtered:
            start = self.options.start - dt.timedelta(seconds=self.lookback)
            return {"filter_from": start, "filter_to": self.options.end, "lookback_s": self.lookback}
        epoch = dt.datetime(1970, 1, 2, tzinfo=dt.timezone.utc)
        return {"filter_from": epoch, "filter_to": epoch, "lookback_s": self.lookback}

    def has_calls(self, start: Any, end: Any) -> bool:
        """Whether a call started in [start, end) (parcours.calls): else the reports leave the call views out.

        Planning a query over parcours.call_matches or parcours.call_touches costs a fixed 0.1-0.3 s (their
        GLOBAL IN subqueries run while the query is planned, each over the calls again), with no call at
        all as with many: a third of the dashboard's time on the demo data set (83k events)."""
        sql = for_database("SELECT count() > 0 FROM parcours.calls WHERE start >= {start:DateTime64(3, 'UTC')} "
                           "AND start < {end:DateTime64(3, 'UTC')}", self.store.database)
        return bool(self.store.query(sql, readonly=True, parameters={"start": start, "end": end}).rows[0][0])

    def query(self, filename: str, parameters: Mapping[str, Any]) -> Result:
        """Run one of the package's SQL files, read-only, with the named parameters it uses; without its
        calls as touches (call_touch_rows.sql) when no call started in their window (see has_calls); the
        report's own file without what it leaves out and made shorter (Report.leave_out, Report.shorten)."""
        own = filename == self.report.sql
        leave_out = self.report.leave_out(parameters) if own and self.report.leave_out else frozenset()
        text = sql_text(filename, leave_out)
        if _CALL_TOUCHES in text and not self.has_calls(parameters["touches_from"], parameters["to"]):
            text = sql_text(filename, leave_out | {"call_touch_rows"})
        if own and self.report.shorten:
            text = self.report.shorten(text, parameters)
        parameters = {k: v for k, v in parameters.items() if "{" + k + ":" in text}
        sql = for_database(text, self.store.database)
        shared = SHARED.get()
        if shared is None:
            return self._query(sql, parameters)
        wider = [((sql, repr(sorted(p.items()))), derive, self._computing(sql, p), instead)
                 for p, derive, instead in (WIDER[filename](parameters) if filename in WIDER else [])]
        return shared((sql, repr(sorted(parameters.items()))), self._computing(sql, parameters), wider)

    def _computing(self, sql: str, parameters: Mapping[str, Any]) -> Callable[[], Result]:
        return lambda: self._query(sql, parameters)

    def _query(self, sql: str, parameters: Mapping[str, Any]) -> Result:
        result = self.store.query(sql, readonly=True, parameters=dict(parameters))
        if not result.rows:
            # An empty result comes back without its column names (the embedded engine): ask for them once
            # per text (planning the query again costs as much as running it on a small data set).
            if sql not in _COLUMNS:
                described = self.store.query(f"DESCRIBE TABLE ({sql})", readonly=True, parameters=dict(parameters))
                _COLUMNS[sql] = [r[0] for r in described.rows]
            return Result(list(_COLUMNS[sql]), [])
        return Result(result.columns, result.rows)
