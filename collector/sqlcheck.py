"""Analysts' SQL: one reading statement, told apart before it reaches ClickHouse.

ClickHouse's `readonly = 1` refuses writes and settings changes, but not everything an analyst must not
run beside the collector: `SYSTEM STOP MERGES`, `KILL QUERY`, `SELECT … INTO OUTFILE` and the `file()`
function (which read and write files of the embedded engine's machine: the collector's secret is one)
all run in read-only mode, and a body holding several statements runs them all. So the statement is read
here first, by its words outside strings, quoted names and comments: one statement, starting with a
reading keyword, touching no file (a function's name is written unquoted: ClickHouse calls `file`(…) and
"file"(…) as file(…), and a quoted name's escapes could spell it any way). Its trailing `SETTINGS` clause is taken out and handed back, so that
the caller applies those settings before `readonly = 1`: only the settings in `SAFE_SETTINGS`. Its query
parameters (`{from:DateTime64(3, 'UTC')}`, as the reports' SQL has them) must be exactly those given: their
values are bound by ClickHouse, never written into the text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from collector.messages import answer

READING = ("SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN")

MAX_STATEMENT_BYTES = 262_144
"""The longest statement read here: ClickHouse's default `max_query_size`, past which the engine refuses it
anyway (Max query size exceeded). Read token by token, a statement of megabytes held the interpreter for
seconds and the collector's memory by gigabytes (10 MB of `1,1,…`: 18 s and 2.9 GB, so 100 MB would have
ended the process); long lists go in parameters, whose values are not part of the text."""

SAFE_SETTINGS = frozenset({
    # how long and how much: the query's own bounds
    "max_execution_time", "timeout_overflow_mode", "max_threads", "max_memory_usage", "max_block_size",
    "max_rows_to_read", "max_bytes_to_read", "read_overflow_mode", "max_result_rows", "max_result_bytes",
    "result_overflow_mode", "max_rows_to_group_by", "group_by_overflow_mode", "max_rows_to_sort",
    "sort_overflow_mode", "max_bytes_before_external_group_by", "max_bytes_before_external_sort",
    "max_temporary_data_on_disk_size_for_query",
    # how it reads: results, not effects
    "join_use_nulls", "join_algorithm", "any_join_distinct_right_table_keys", "final",
    "do_not_merge_across_partitions_select_final", "prefer_column_name_to_alias", "enable_analyzer",
    "optimize_aggregation_in_order", "optimize_read_in_order", "date_time_output_format", "session_timezone",
    "count_distinct_implementation", "aggregate_functions_null_for_empty", "transform_null_in",
    "distributed_product_mode",  # on a cluster: how a subquery on a Distributed table runs (GLOBAL or not)
})
"""Settings a statement may set for itself: bounds and the shape of its result, nothing that acts on the
server or another query."""

# Functions that read or write files or reach other machines, as table functions or as plain functions;
# readonly = 1 refuses most of the table functions, but not `file()`. Every `…Cluster()` table function too
# (icebergS3Cluster, deltaLakeCluster, hudiCluster… and those ClickHouse adds): each sends the statement to the
# servers of a cluster, and the embedded engine, which has none, answers them "cluster not found" before its
# readonly check, so that check is not seen to hold for them.
FORBIDDEN_FUNCTIONS = frozenset({
    "FILE", "FILECLUSTER", "URL", "URLCLUSTER", "S3", "S3CLUSTER", "GCS", "HDFS", "HDFSCLUSTER", "AZUREBLOBSTORAGE",
    "AZUREBLOBSTORAGECLUSTER", "REMOTE", "REMOTESECURE", "CLUSTER", "CLUSTERALLREPLICAS", "MYSQL", "POSTGRESQL",
    "SQLITE", "MONGODB", "REDIS", "JDBC", "ODBC", "EXECUTABLE", "PYTHON", "INPUT", "ICEBERG", "DELTALAKE", "HUDI",
})

# One token at a time: comments and quoted text are skipped whole, so a ';' or a keyword inside them
# is not read as one. Unterminated quotes or comments run to the end (ClickHouse refuses them itself). A
# query parameter is one token, written as clickhouse-connect finds it to bind it (`{name:Type}`, no spaces
# before the colon): a `{format:String}` is no FORMAT clause.
_TOKEN = re.compile(r"""
      (?P<space>\s+)
    | (?P<comment>--[^\n]*|\#[^\n]*|/\*.*?(?:\*/|\Z))
    | (?P<string>'(?:[^'\\]|\\.|'')*(?:'|\Z))
    | (?P<name>"(?:[^"\\]|\\.|"")*(?:"|\Z)|`(?:[^`\\]|\\.|``)*(?:`|\Z))
    | (?P<parameter>\{\w+:[^}]+\})
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<number>[0-9][0-9_.]*(?:[eE][+-]?[0-9]+)?)
    | (?P<other>.)
""", re.VERBOSE | re.DOTALL)


class NotReading(ValueError):
    """The SQL is not one reading statement; the message says what to send instead."""


@dataclass
class Reading:
    """A statement to run, the settings it asked for (to apply before readonly), and its parameters' values."""

    statement: str
    settings: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)


@dataclass
class _Token:
    kind: str
    text: str
    start: int
    end: int
    depth: int  # parentheses around it

    @property
    def word(self) -> str:
        return self.text.upper() if self.kind == "word" else ""


def reading_statement(text: str, parameters: Mapping[str, str] | None = None) -> Reading:
    """The statement (without a trailing ';' or its SETTINGS clause), its settings and its parameters' values,
    if `text` is one reading statement and `parameters` give a value to each of its parameters, and to nothing
    else; else NotReading, saying why."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_STATEMENT_BYTES:
        raise NotReading(answer("sql_too_long", size=size, limit=MAX_STATEMENT_BYTES))
    statements = _statements(text)
    if not statements:
        raise NotReading(answer("sql_empty"))
    if len(statements) > 1:
        raise NotReading(answer("sql_several", count=len(statements)))
    tokens = statements[0]
    first = next((t for t in tokens if t.text != "("), tokens[0])
    if first.word not in READING:
        raise NotReading(answer("sql_not_reading", word=first.text[:40]))
    for before, after in zip(tokens, tokens[1:]):
        if before.word == "INTO" and after.word == "OUTFILE":
            raise NotReading(answer("sql_outfile"))
        if (before.word in FORBIDDEN_FUNCTIONS or before.word.endswith("CLUSTER")) and after.text == "(":
            raise NotReading(answer("sql_function", name=before.text))
        if before.kind == "name" and after.text == "(":  # `file`(…) is file(…): which name it unquotes to, unsaid
            raise NotReading(answer("sql_quoted_function", name=before.text[:64]))
        if before.word == "FORMAT" and before.depth == 0 and after.text != "(":
            raise NotReading(answer("sql_format"))
    if tokens[-1].word == "FORMAT" and tokens[-1].depth == 0:
        raise NotReading(answer("sql_format"))
    clauses = [i for i in range(len(tokens)) if _settings_clause(tokens, i)]
    for i in clauses:  # a subquery's own SETTINGS stay in the statement, held to the same list
        if tokens[i].depth > 0:
            _settings([t for t in _same_level(tokens, i + 1)])
    settings_at = next((i for i in reversed(clauses) if tokens[i].depth == 0), None)
    settings = {}
    end = tokens[-1].end
    if settings_at is not None:
        settings = _settings(tokens[settings_at + 1:])
        end = tokens[settings_at - 1].end if settings_at else tokens[settings_at].start
    return Reading(text[tokens[0].start:end], settings, _bound(tokens, parameters or {}))


def _bound(tokens: list[_Token], given: Mapping[str, str]) -> dict[str, str]:
    """The values given, if they are exactly those of the statement's parameters."""
    own: dict[str, str] = {}
    for token in tokens:
        if token.kind == "parameter":
            own.setdefault(token.text[1:].split(":", 1)[0], token.text)
    unknown = [f'"{name[:64]}"' for name in given if name not in own]
    if unknown:
        raise NotReading(answer("sql_parameter_unknown", names=", ".join(unknown), known=", ".join(own) or "none"))
    missing = [text for name, text in own.items() if name not in given]
    if missing:
        raise NotReading(answer("sql_parameter_missing", parameters=", ".join(missing)))
    return dict(given)


# What may stand just before a name that reads "settings" (system.settings, AS settings, a column): there,
# the word is not the SETTINGS clause.
_BEFORE_A_NAME = frozenset({"AS", "SELECT", "FROM", "JOIN", "BY", "WHERE", "PREWHERE", "HAVING", "AND", "OR", "NOT",
                            "ON", "USING", "DISTINCT", "DESCRIBE", "DESC", "TABLE", "IN"})


def _settings_clause(tokens: list[_Token], i: int) -> bool:
    """Whether tokens[i] starts a SETTINGS clause, rather than being a name (`system.settings`, a column)."""
    if tokens[i].word != "SETTINGS":
        return False
    if i + 1 < len(tokens) and tokens[i + 1].text == ".":
        return False
    if i == 0:
        return True
    before = tokens[i - 1]
    return before.word not in _BEFORE_A_NAME and before.text not in (".", ",", "(", "=", "<", ">", "+", "-", "*", "/")


def _same_level(tokens: list[_Token], start: int) -> list[_Token]:
    """The tokens from `start` up to the parenthesis closing their level."""
    depth = tokens[start - 1].depth
    out = []
    for token in tokens[start:]:
        if token.depth < depth or token.text == ")":
            break
        out.append(token)
    return out


def _statements(text: str) -> list[list[_Token]]:
    """The tokens of each non-empty statement, split at the ';' outside quotes and comments."""
    statements: list[list[_Token]] = [[]]
    depth = 0
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind in ("space", "comment"):
            continue
        value = match.group()
        if value == ";":
            statements.append([])
            depth = 0
            continue
        if value == ")":
            depth = max(depth - 1, 0)
        statements[-1].append(_Token(kind, value, match.start(), match.end(), depth))
        if value == "(":
            depth += 1
    return [s for s in statements if s]


def _settings(tokens: list[_Token]) -> dict[str, str]:
    """`name = value, …` of a trailing SETTINGS clause, each name one of SAFE_SETTINGS."""
    out: dict[str, str] = {}
    at = 0
    while at < len(tokens):
        part = tokens[at:at + 3]
        if len(part) < 3 or part[0].kind != "word" or part[1].text != "=" or part[2].kind not in ("word", "number", "string"):
            raise NotReading(answer("sql_settings"))
        name, value = part[0].text.lower(), part[2].text
        if name not in SAFE_SETTINGS:
            raise NotReading(answer("sql_setting", name=part[0].text[:64], allowed=", ".join(sorted(SAFE_SETTINGS))))
        out[name] = value[1:-1].replace("''", "'").replace("\\'", "'") if part[2].kind == "string" else value
        at += 3
        if at < len(tokens):
            if tokens[at].text != ",":
                raise NotReading(answer("sql_settings"))
            at += 1
    return out
