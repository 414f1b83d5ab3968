"""Telling one reading statement apart, by its words outside quotes and comments."""

from __future__ import annotations

import pytest

from collector.sqlcheck import NotReading, Reading, reading_statement


@pytest.mark.parametrize("text, expected", [
    ("SELECT 1", Reading("SELECT 1")),
    (";SELECT 1;\n", Reading("SELECT 1")),
    ("select 1 -- a comment; DROP TABLE x", Reading("select 1")),
    ("SELECT ';' AS x", Reading("SELECT ';' AS x")),
    ("SELECT 'into outfile', \"file\" AS \"url\"", Reading("SELECT 'into outfile', \"file\" AS \"url\"")),
    ("SELECT `count`, \"x\" FROM (SELECT 1 AS `count`, 2 AS x)", Reading("SELECT `count`, \"x\" FROM (SELECT 1 AS `count`, 2 AS x)")),
    ("(SELECT 1)", Reading("(SELECT 1)")),
    ("WITH 1 AS x SELECT x", Reading("WITH 1 AS x SELECT x")),
    ("/* why */ EXPLAIN SELECT 1", Reading("EXPLAIN SELECT 1")),
    ("desc parcours.events", Reading("desc parcours.events")),
    ("SHOW TABLES FROM parcours", Reading("SHOW TABLES FROM parcours")),
    ("SELECT * FROM t SETTINGS max_threads = 2, result_overflow_mode = 'break'",
     Reading("SELECT * FROM t", {"max_threads": "2", "result_overflow_mode": "break"})),
    ("SELECT * FROM (SELECT 1 SETTINGS max_threads = 1)", Reading("SELECT * FROM (SELECT 1 SETTINGS max_threads = 1)")),
    ("SELECT format('{}', 1)", Reading("SELECT format('{}', 1)")),
    # "settings" as a name, not the clause (system.settings was refused as a SETTINGS clause it could not read)
    ("SELECT name, value FROM system.settings WHERE changed", Reading("SELECT name, value FROM system.settings WHERE changed")),
    ("SELECT * FROM system.settings LIMIT 1 SETTINGS max_threads = 1",
     Reading("SELECT * FROM system.settings LIMIT 1", {"max_threads": "1"})),
    ("SELECT 1 AS settings", Reading("SELECT 1 AS settings")),
    ("SELECT settings FROM (SELECT 1 AS settings)", Reading("SELECT settings FROM (SELECT 1 AS settings)")),
])
def test_reading_statements_pass(text, expected):
    assert reading_statement(text) == expected


@pytest.mark.parametrize("text, message", [
    ("", "send one SQL statement as the request body"),
    (" ; -- nothing", "send one SQL statement as the request body"),
    ("SELECT 1; SELECT 2", "send one statement at a time: this text holds 2, separated by ';'"),
    ("INSERT INTO t VALUES (1)", 'only reading statements are run here (SELECT, WITH, SHOW, DESCRIBE, EXPLAIN); '
                                 '"INSERT" is not one of them'),
    ("  optimize table t", "only reading statements are run here (SELECT, WITH, SHOW, DESCRIBE, EXPLAIN); \"optimize\""),
    ("SELECT * FROM t INTO OUTFILE 'x'", "INTO OUTFILE would write a file on the collector's machine; "
                                         "read the rows from the answer (or use `parcours export`)"),
    ("SELECT * FROM url('http://x/', CSV)", "url() reads files or other servers; only the database's tables are read here"),
    # every cluster table function, those of ClickHouse's lakes too: the readonly check comes after the cluster's
    ("SELECT * FROM icebergS3Cluster('c', 'http://x/b/t')", "icebergS3Cluster() reads files or other servers"),
    ("SELECT * FROM deltaLakeCluster('c', 'http://x/b/t')", "deltaLakeCluster() reads files or other servers"),
    # a quoted function name: ClickHouse calls `file`(…) as file(…) (the probe of stop 34 read the secret so)
    ("SELECT `file`('secret')", "`file`(…): write a function's name without quotes"),
    ('SELECT "file"(\'secret\')', '"file"(…): write a function\'s name without quotes'),
    ("SELECT length(`fi\\x6ce` /* */ ('secret'))", "`fi\\x6ce`(…): write a function's name without quotes"),
    ("SELECT * FROM `url`('http://x/', CSV)", "`url`(…): write a function's name"),
    ("SELECT 1 SETTINGS readonly = 0", 'setting "readonly" cannot be changed here; these can: '),
    ("SELECT 1 SETTINGS max_threads", "the SETTINGS clause could not be read"),
    # a subquery's SETTINGS are held to the same list as the statement's
    ("SELECT * FROM (SELECT 1 SETTINGS readonly = 0)", 'setting "readonly" cannot be changed here; these can: '),
    ("SELECT * FROM (SELECT 1 SETTINGS max_threads = 1, log_comment = 'x') AS t",
     'setting "log_comment" cannot be changed here; these can: '),
    ("SELECT 1 FORMAT JSON", "leave out the FORMAT clause: the answer comes as JSON"),
])
def test_everything_else_is_refused_saying_why(text, message):
    with pytest.raises(NotReading) as refused:
        reading_statement(text)
    assert str(refused.value).startswith(message)


def test_the_values_given_are_those_of_the_statements_parameters():
    """The reports' SQL names its parameters `{from:DateTime64(3, 'UTC')}`: each needs a value, and a value
    names one of them (a typo is said, not ignored); those in strings and comments are not parameters."""
    text = ("SELECT {format:String} AS f, '{quoted:String}' -- {commented:String}\n"
            "FROM t WHERE ts >= {from:DateTime64(3, 'UTC')} AND ts < {to:DateTime64(3, 'UTC')} AND f != {format:String}")
    given = {"format": "csv", "from": "2026-10-01 00:00:00", "to": "2026-11-01 00:00:00"}
    assert reading_statement(text, given).parameters == given  # {format:…} is no FORMAT clause
    with pytest.raises(NotReading) as refused:
        reading_statement(text, {"format": "csv"})
    assert str(refused.value) == ("no value given for {from:DateTime64(3, 'UTC')}, {to:DateTime64(3, 'UTC')}: give "
                                  "each one as --param NAME=VALUE (parcours sql) or ?param_NAME=VALUE (POST /api/sql)")
    with pytest.raises(NotReading) as refused:
        reading_statement(text, {**given, "form": "x", "quoted": "y"})
    assert str(refused.value) == 'the statement has no parameter "form", "quoted"; its parameters: format, from, to'
    with pytest.raises(NotReading) as refused:
        reading_statement("SELECT 1", {"from": "2026-10-01"})
    assert str(refused.value) == 'the statement has no parameter "from"; its parameters: none'


def test_a_statement_longer_than_clickhouse_reads_is_refused_before_it_is_read():
    """ClickHouse refuses a statement past its max_query_size (256 KiB) anyway; read token by token here first, 10 MB
    of `1,1,…` held the collector's interpreter 18 s and 2.9 GB of its memory (ops probe). Up to the bound it is read."""
    from collector.sqlcheck import MAX_STATEMENT_BYTES

    fits = "SELECT '" + "x" * (MAX_STATEMENT_BYTES - len("SELECT ''")) + "'"
    assert reading_statement(fits) == Reading(fits)
    longer = "SELECT " + "1," * (MAX_STATEMENT_BYTES // 2) + "1"
    with pytest.raises(NotReading, match=f"the statement is {len(longer)} bytes, ClickHouse reads at most "
                                         f"{MAX_STATEMENT_BYTES} \\(max_query_size\\)"):
        reading_statement(longer)
    accented = "SELECT '" + "é" * (MAX_STATEMENT_BYTES // 2) + "'"  # bytes, as ClickHouse counts them, not characters
    with pytest.raises(NotReading, match="ClickHouse reads at most"):
        reading_statement(accented)
