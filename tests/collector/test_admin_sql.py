"""POST /api/sql: nothing an analyst sends changes or delays ingestion (the writer has its own client)."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest
from click.testing import CliRunner

from collector.app import create_app
from collector.cli import main
from collector.connections import server_options
from collector.storage import ANALYST_SECONDS, Refused, StoreError
from tests.collector.conftest import ADMIN
from tests.collector.helpers import counts, event, post, rows, serving, wait_for


def test_admin_sql_needs_the_token_and_answers_rows(client):
    assert client.post("/api/sql", content="SELECT 1").status_code == 401
    r = client.post("/api/sql", content="SELECT 1 AS one", headers=ADMIN)
    assert r.json() == {"columns": ["one"], "rows": [[1]]}


def test_system_settings_is_a_table_an_analyst_may_read(client):
    """`settings` as a name is no SETTINGS clause (it was refused: "the SETTINGS clause could not be read")."""
    r = client.post("/api/sql", content="SELECT name FROM system.settings WHERE name = 'readonly' SETTINGS max_threads = 1",
                    headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json()["rows"] == [["readonly"]]


ATTACKS = [  # the four of issue 9 first, then their cousins
    ("INSERT INTO {db}.events (event_id, event) VALUES (generateUUIDv4(), 'x')", '"INSERT" is not one of them'),
    ("SET max_threads=1", '"SET" is not one of them'),
    ("SYSTEM STOP MERGES", '"SYSTEM" is not one of them'),
    ("KILL QUERY WHERE 1", '"KILL" is not one of them'),
    ("DROP TABLE {db}.events", '"DROP" is not one of them'),
    ("SELECT 1; SELECT 2", "send one statement at a time: this text holds 2, separated by ';'"),
    ("SELECT 1; INSERT INTO {db}.events (event) VALUES ('x')", "this text holds 2"),
    ("SELECT * FROM {db}.events INTO OUTFILE '/tmp/x.csv'", "INTO OUTFILE would write a file"),
    ("SELECT file('secret')", "file() reads files or other servers"),
    ("SELECT `file`('secret')", "write a function's name without quotes"),
    ('SELECT "file"(\'secret\')', "write a function's name without quotes"),
    ("SELECT 1 SETTINGS readonly = 0", 'setting "readonly" cannot be changed here'),
    ("SELECT * FROM (SELECT 1 SETTINGS readonly = 0)", 'setting "readonly" cannot be changed here'),
    ("SELECT 1 FORMAT CSV", "leave out the FORMAT clause"),
    ("", "send one SQL statement as the request body"),
]


def test_the_attacks_of_issue_9_are_refused_with_a_400_and_ingestion_goes_on(client, store):
    for n, (statement, words) in enumerate(ATTACKS, 1):
        r = client.post("/api/sql", content=statement.format(db=store.database), headers=ADMIN)
        assert r.status_code == 400, (statement, r.text)
        assert words in r.json()["error"], statement
        # The writer's own client was never touched: an insert still works, and nothing else was written.
        assert counts(post(client, event())) == {"accepted": 1, "rejected": 0}, statement
        assert rows(store, "SELECT count() AS n FROM parcours.events") == [{"n": n}], statement
    assert client.get("/readyz").status_code == 200


def test_clickhouse_refusals_are_400s_and_the_reading_clients_recover(client, store):
    r = client.post("/api/sql", content="SELECT throwIf(1, 'boom')", headers=ADMIN)
    assert r.status_code == 400 and "boom" in r.json()["error"]
    r = client.post("/api/sql", content="SELECT * FROM numbers(10) SETTINGS max_threads = 1, max_result_rows = 2, "
                                        "result_overflow_mode = 'throw'", headers=ADMIN)
    assert r.status_code == 400 and "Limit for result exceeded" in r.json()["error"]
    r = client.post("/api/sql", content="SELECT getSetting('max_threads') AS t, getSetting('readonly') AS ro "
                                        "SETTINGS max_threads = 1", headers=ADMIN)
    assert r.json()["rows"] == [[1, 1]]
    assert counts(post(client, event())) == {"accepted": 1, "rejected": 0}


def test_analyst_queries_run_with_a_default_time_limit(client):
    r = client.post("/api/sql", content="SELECT getSetting('max_execution_time') AS limit", headers=ADMIN)
    assert r.json()["rows"] == [[float(client.app.state.store.timeouts.query)]]
    r = client.post("/api/sql", content="SELECT getSetting('max_execution_time') AS limit "
                                        "SETTINGS max_execution_time = 600", headers=ADMIN)
    assert r.json()["rows"] == [[600.0]]
    # never unbounded (0: ClickHouse's "no limit"), never above the ceiling (a statement that never ended held
    # its client, and the collector's stop, for good: this stop's probe)
    for asked in ("0", "99999", "1e9"):
        r = client.post("/api/sql", content="SELECT getSetting('max_execution_time') AS limit "
                                            f"SETTINGS max_execution_time = {asked}", headers=ADMIN)
        assert r.json()["rows"] == [[float(ANALYST_SECONDS)]], asked


def test_analyst_queries_hold_a_fifth_of_the_engines_memory_at_most(client):
    """One statement cannot take the collector's memory (the engine's bound, shared with the batch writer): it
    may ask for less than its bound, never more, nor none."""
    def bound(settings=""):
        r = client.post("/api/sql", content=f"SELECT getSetting('max_memory_usage') AS m {settings}", headers=ADMIN)
        return r.json()["rows"][0][0]

    (server,), = client.app.state.store.query(
        "SELECT toUInt64(value) FROM system.server_settings WHERE name = 'max_server_memory_usage'").rows
    assert server > 0 and bound() == int(server * 0.2)
    assert bound("SETTINGS max_memory_usage = 1000000") == 1_000_000
    assert bound(f"SETTINGS max_memory_usage = {server}") == bound("SETTINGS max_memory_usage = 0") == int(server * 0.2)
    # '²' is a digit to Python's isdigit, not to int(): the bound, where it was a 500.
    assert bound("SETTINGS max_memory_usage = '²'") == bound("SETTINGS max_memory_usage = '1²'") == int(server * 0.2)
    r = client.post("/api/sql", content="SELECT 1 SETTINGS max_result_rows = '²'", headers=ADMIN)
    assert r.status_code == 200 and r.json()["rows"] == [[1]], r.text
    r = client.post("/api/sql", content="SELECT length(groupArray(number)) FROM numbers(10000000) "
                                        "SETTINGS max_memory_usage = 20000000", headers=ADMIN)
    assert r.status_code == 400 and "MEMORY_LIMIT_EXCEEDED" in r.json()["error"], r.text


def test_analyst_queries_write_a_share_of_the_disks_free_space_as_temporary_data_at_most(client, monkeypatch):
    """A GROUP BY larger than its memory spills to disk (by default past half of it): one statement wrote 50 MB/s
    into the data directory for as long as it ran (up to an hour), until the disk holding the write-ahead log was
    full and every event refused (ops probe). It may write ANALYST_DISK_SHARE of the disk's free space, ask for
    less, never more nor none."""
    from collector import storage
    store = client.app.state.store
    (free,), = store.query("SELECT free_space FROM system.disks WHERE name = 'default'").rows

    def bound(settings=""):
        r = client.post("/api/sql", content=f"SELECT getSetting('max_temporary_data_on_disk_size_for_query') {settings}",
                        headers=ADMIN)
        return r.json()["rows"][0][0]

    share = bound()
    assert 0 < share <= free * storage.ANALYST_DISK_SHARE and share > 0.9 * free * storage.ANALYST_DISK_SHARE
    assert bound("SETTINGS max_temporary_data_on_disk_size_for_query = 1000000") == 1_000_000
    assert bound(f"SETTINGS max_temporary_data_on_disk_size_for_query = {free}") == share
    assert bound("SETTINGS max_temporary_data_on_disk_size_for_query = 0") == share
    # A statement that spills past its share is refused, where it wrote on.
    monkeypatch.setattr(store, "_analyst_disk", 2_000_000)
    r = client.post("/api/sql", content="SELECT count() FROM (SELECT toString(number) AS s, any(repeat('x', 50)) "
                                        "FROM numbers(2000000) GROUP BY s) "
                                        "SETTINGS max_bytes_before_external_group_by = 1000000", headers=ADMIN)
    assert r.status_code == 400 and "Limit for temporary files size exceeded" in r.json()["error"], r.text


def test_a_body_larger_than_a_statement_and_its_parameters_is_refused_unread(client):
    """POST /api/sql held any body whole in the collector's memory before reading it: past SQL_BODY_BYTES it is
    refused (413), with or without a Content-Length."""
    from collector.admin import SQL_BODY_BYTES
    body = b"SELECT 1 -- " + b"x" * SQL_BODY_BYTES
    too_big = {"error": f"the body is larger than {SQL_BODY_BYTES} bytes: send one statement, its long lists as "
                        "parameters", "code": "body_too_large", "values": {"limit": SQL_BODY_BYTES}}
    r = client.post("/api/sql", content=body, headers=ADMIN)
    assert (r.status_code, r.json()) == (413, too_big)
    r = client.post("/api/sql", content=iter([body[:1000], body[1000:]]), headers=ADMIN)  # chunked: no length
    assert (r.status_code, r.json()) == (413, too_big)
    r = client.post("/api/sql", content=b"SELECT 1 AS one -- " + b"x" * 1000, headers=ADMIN)
    assert r.json()["rows"] == [[1]]


def test_analyst_queries_answer_a_bounded_number_of_rows(client, monkeypatch):
    """An outside probe's finding: 15 million rows asked for were held in the collector's process and written as
    JSON on the event loop: 23 s of memory and pauses of 1.5 to 2 s in every other request, ingestion's too. A
    statement answers at most ANALYST_ROWS rows (and ANALYST_BYTES): it may ask for fewer, never more, nor no
    bound; or for the first rows (`result_overflow_mode = 'break'`)."""
    from collector import output, storage
    monkeypatch.setattr(storage, "ANALYST_ROWS", 1000, raising=False)
    monkeypatch.setattr(output, "SLICE", 7, raising=False)  # rows written a slice at a time: the same JSON

    def ask(sql):
        return client.post("/api/sql", content=sql, headers=ADMIN)

    assert ask("SELECT number AS n FROM numbers(1000)").json()["rows"] == [[n] for n in range(1000)]
    for settings in ("", "SETTINGS max_result_rows = 0", "SETTINGS max_result_rows = 100000000"):
        r = ask(f"SELECT number FROM numbers(5000) {settings}")
        assert r.status_code == 400 and "TOO_MANY_ROWS_OR_BYTES" in r.json()["error"], (settings, r.text)
    assert ask("SELECT number FROM numbers(5000) SETTINGS max_result_rows = 10").status_code == 400
    assert ask("SELECT getSetting('max_result_bytes') AS b").json()["rows"] == [[storage.ANALYST_BYTES]]
    r = ask("SELECT number FROM numbers(5000) SETTINGS max_result_rows = 10, result_overflow_mode = 'break', "
            "max_block_size = 100")  # a block at least
    assert r.status_code == 200 and 10 <= len(r.json()["rows"]) < 5000, r.status_code
    assert ask("SELECT count() AS c FROM (SELECT number FROM numbers(5000))").json()["rows"] == [[5000]]


MARKER = "long-analyst-query-7f3a"


def test_a_long_analyst_query_does_not_hold_up_the_writer(client, store):
    """The query runs on a reading client while the writer inserts on its own: the events are stored
    (the test client waits for the log to drain) while the query is still running."""
    outcome = {}

    def long_query():
        try:
            outcome["rows"] = store.analyst(f"SELECT sleepEachRow(0.1), '{MARKER}' FROM numbers(600) "
                                            "SETTINGS max_block_size = 1")
        except StoreError as exc:
            outcome["error"] = str(exc)

    running = f"SELECT count() AS n FROM system.processes WHERE query LIKE '%{MARKER}%' AND query NOT LIKE '%system.processes%'"
    thread = threading.Thread(target=long_query)
    thread.start()
    try:
        for _ in range(500):  # until the engine lists the query as running (a barrier, not a sleep)
            if rows(store, running) == [{"n": 1}]:
                break
            thread.join(0.01)
        assert rows(store, running) == [{"n": 1}], outcome
        assert counts(post(client, event(), event())) == {"accepted": 2, "rejected": 0}
        assert rows(store, "SELECT count() AS n FROM parcours.events") == [{"n": 2}]
        assert rows(store, running) == [{"n": 1}], "the query ended before the insert: nothing was shown"
        assert thread.is_alive()
    finally:
        store.command(f"KILL QUERY WHERE query LIKE '%{MARKER}%' AND query NOT LIKE '%system.processes%' SYNC")
        thread.join(60)
    assert "rows" not in outcome  # killed, as asked


def test_analyst_statements_however_many_leave_the_reports_their_clients(store):
    """Four long analyst statements (as many as the store's reading clients) at once: two run, two wait, and
    a report's query is answered meanwhile, not after one of them ends."""
    marker = "many-analysts-5c1e"
    done: list[str] = []

    def long_query(i):
        try:
            store.analyst(f"SELECT sleepEachRow(0.1), '{marker}' FROM numbers(600) SETTINGS max_block_size = 1")
        except StoreError:
            pass
        done.append(f"analyst {i}")

    running = f"SELECT count() AS n FROM system.processes WHERE query LIKE '%{marker}%' AND query NOT LIKE '%system.processes%'"
    threads = [threading.Thread(target=long_query, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(500):  # until the engine runs two of them (a barrier, not a sleep)
            if rows(store, running)[0]["n"] >= 2:
                break
            threads[0].join(0.01)
        assert rows(store, running) == [{"n": 2}]  # the other two wait for an analysts' client
        assert store.query("SELECT 42 AS answer").rows == [[42]]  # a report's query, on the readers' clients
        done.append("report")
        assert done == ["report"], "the report's query waited for an analyst's statement to end"
    finally:
        for _ in range(3):  # the two running, then the two that were waiting
            store.command(f"KILL QUERY WHERE query LIKE '%{marker}%' AND query NOT LIKE '%system.processes%' SYNC")
            for thread in threads:
                thread.join(2)
        for thread in threads:
            thread.join(60)


ENDLESS = ("SELECT count(), '{marker}' FROM numbers(1000000000000) WHERE sipHash64(number) % 7 = 3 "
           "SETTINGS max_execution_time = 0")
"""Hours of work on two cores, asking for no time limit."""


def _statements_running(store, marker: str) -> int:
    return rows(store, f"SELECT count() AS n FROM system.processes WHERE query LIKE '%{marker}%' "
                       "AND query NOT LIKE '%system.processes%'")[0]["n"]


def _post(url: str, statement: str, timeout: float = 30) -> tuple[int, bytes]:
    request = urllib.request.Request(f"{url}/api/sql", data=statement.encode(), method="POST",
                                     headers={"Authorization": "Bearer admin-test-token"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, response.read()


def _post_in_a_thread(url: str, statement: str, out: dict, timeout: float) -> threading.Thread:
    def send():
        try:
            out["response"] = _post(url, statement, timeout)
        except Exception as exc:  # noqa: BLE001  (what the caller saw)
            out["error"] = exc

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def test_a_statement_whose_caller_goes_away_is_stopped(settings, store):
    """The analyst's client gives up (a timeout, Ctrl-C): the statement is stopped on the server, its client
    free again, where it ran on for nobody (this stop's probe: still running long after curl -m 2 left)."""
    marker = "caller-gone-31d7"
    with serving(create_app(settings)) as url:
        out: dict = {}
        thread = _post_in_a_thread(url, ENDLESS.format(marker=marker), out, timeout=3)
        try:
            wait_for(lambda: _statements_running(store, marker) == 1, timeout=30)
            thread.join(30)
            assert isinstance(out.get("error"), TimeoutError), out  # the caller left
            wait_for(lambda: _statements_running(store, marker) == 0, timeout=30)
            assert _post(url, "SELECT 1 AS one") == (200, b'{"columns":["one"],"rows":[[1]]}')
        finally:
            store.command(f"KILL QUERY WHERE query LIKE '%{marker}%' AND query NOT LIKE '%system.processes%' SYNC")


def test_a_stop_cuts_off_a_statement_that_never_ends(settings, store):
    """A collector asked to stop while a statement runs (its caller still waiting) waits --shutdown-timeout for
    it, then cuts it off and stops its query: it stops. It hung until the statement ended (this stop's probe:
    killed by hand after minutes, the port closed meanwhile)."""
    import dataclasses

    marker = "stop-cuts-off-8e2b"
    quick = dataclasses.replace(settings, shutdown_timeout=1.0)
    out: dict = {}
    try:
        with serving(create_app(quick), **server_options(quick)) as url:
            thread = _post_in_a_thread(url, ENDLESS.format(marker=marker), out, timeout=300)
            wait_for(lambda: _statements_running(store, marker) == 1, timeout=30)
        # the server's thread has ended (serving() waits for it) and so has the statement
        wait_for(lambda: _statements_running(store, marker) == 0, timeout=30)
        thread.join(30)
        # Answered 503 with Retry-After, saying why: uvicorn answered 500 "Internal Server Error" and logged a
        # traceback (ops probe).
        refused = out.get("error")
        assert isinstance(refused, urllib.error.HTTPError) and refused.code == 503, out
        assert refused.headers["Retry-After"] == str(quick.retry_after)
        assert json.loads(refused.read())["code"] == "stopping"
    finally:
        store.command(f"KILL QUERY WHERE query LIKE '%{marker}%' AND query NOT LIKE '%system.processes%' SYNC")


def test_the_local_cli_path_refuses_the_same_way(store):
    with pytest.raises(Refused, match='"SYSTEM" is not one of them'):
        store.analyst("SYSTEM STOP MERGES")


def test_reading_queries_run_at_the_lowest_cpu_priority_and_the_writer_does_not(store):
    """Reports, analysts' SQL and raw reads give the CPU to the batch writer first (storage.READ_SETTINGS); the
    writing client's statements keep the default priority, before and after a read."""
    nice = "SELECT getSetting('os_thread_priority')"
    assert store.query(nice, readonly=False).rows == [[0]]
    assert store.query(nice).rows == [[19]]
    assert store.analyst(nice).rows == [[19]]
    assert store.raw(nice, "CSV") == b"19\n"
    assert store.query(nice, readonly=False).rows == [[0]]


TYPED = ("SELECT {name:String} AS name, {ids:Array(String)} AS ids, {at:DateTime64(3, 'UTC')} AS at, "
         "{n:UInt8} + 1 AS n, getSetting('readonly') AS ro")


def test_a_statements_parameters_are_given_in_the_query_string_and_bound_by_clickhouse(client):
    """`?param_NAME=VALUE`, as ClickHouse's HTTP interface spells it: each value read by ClickHouse as its
    type's text, as clickhouse-client reads `--param_NAME=VALUE` (never written into the SQL: a quote in a
    String's value is a quote); the statement still read-only, with its default bounds."""
    given = {"param_name": "O'Brien' OR 1=1 --", "param_ids": "['B042', 'it''s']", "param_at": "2026-10-01 10:42:00.5",
             "param_n": "41"}
    r = client.post("/api/sql", params=given, content=TYPED, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json()["rows"] == [["O'Brien' OR 1=1 --", ["B042", "it's"], "2026-10-01T10:42:00.500000", 42, 1]]
    r = client.post("/api/sql", params={**given, "param_n": "abc"}, content=TYPED, headers=ADMIN)
    assert r.status_code == 400 and "cannot be parsed as UInt8 for query parameter 'n'" in r.json()["error"], r.text


def test_the_set_param_lines_a_statement_begins_with_give_its_parameters(client):
    """`SET param_NAME = '…';` lines before the statement, as `parcours report --sql` prints them and clickhouse-client
    reads them (a quote escaped in the literal); a name also in the query string is refused."""
    body = ("SET param_name = 'O\\'Brien';\nSET param_ids = '[\\'B042\\']';\n"
            "set param_at = '2026-10-01 10:42:00.5' ;\n\n-- the report\n" + TYPED)
    r = client.post("/api/sql", params={"param_n": "41"}, content=body, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json()["rows"] == [["O'Brien", ["B042"], "2026-10-01T10:42:00.500000", 42, 1]]
    r = client.post("/api/sql", params={"param_n": "41", "param_name": "x"}, content=body, headers=ADMIN)
    assert (r.status_code, r.json()) == (400, {"error": 'parameter "name" given twice; give each one once'})


def test_set_param_lines_as_files_and_editors_write_them(client):
    """A query file saved with CRLF line ends, a comment line before the SET lines, a quote doubled ('') as SQL
    escapes it, a note after the ';': each was "this text holds 2, separated by ';'" (this stop's probe)."""
    body = ("-- levers, by hand\r\nSET param_name = 'O''Brien';  -- the customer\r\n"
            "SET param_ids = '[''B042'']';\r\nSET param_at = '2026-10-01 10:42:00.5';\r\n" + TYPED)
    r = client.post("/api/sql", params={"param_n": "41"}, content=body, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json()["rows"] == [["O'Brien", ["B042"], "2026-10-01T10:42:00.500000", 42, 1]]


@pytest.mark.parametrize("query, error", [
    ("param_name=x&param_ids=[]&param_n=1",
     "no value given for {at:DateTime64(3, 'UTC')}: give each one as --param NAME=VALUE (parcours sql) or "
     "?param_NAME=VALUE (POST /api/sql)"),
    ("param_name=x&param_ids=[]&param_at=2026-10-01&param_n=1&param_form=x",
     'the statement has no parameter "form"; its parameters: name, ids, at, n'),
    ("param_name=x&param_ids=[]&param_at=2026-10-01&param_n=1&param_n=2", 'parameter "n" given twice; give each one once'),
])
def test_a_parameter_missing_unknown_or_given_twice_is_a_400_naming_it(client, query, error):
    r = client.post(f"/api/sql?{query}", content=TYPED, headers=ADMIN)
    assert (r.status_code, r.json()) == (400, {"error": error})


def test_parcours_sql_gives_its_parameters_through_a_running_collector(settings, store, tmp_path):
    """The command line's --param NAME=VALUE and clickhouse-client's --param_NAME=VALUE (or --param_NAME VALUE),
    sent over HTTP as ?param_NAME=VALUE to the collector that owns the data."""
    with serving(create_app(settings)) as url:
        remote = ["--url", url, "--admin-token", "admin-test-token", "--data-dir", str(tmp_path)]
        out = CliRunner().invoke(main, ["sql", TYPED, "--param", "name=O'Brien", "--param_ids=['B042']",
                                        "--param_at", "2026-10-01 10:42:00", "--param", "n=41", *remote,
                                        "--format", "json"])
        assert out.exit_code == 0, out.output
        assert json.loads(out.output) == {"name": "O'Brien", "ids": ["B042"], "at": "2026-10-01T10:42:00",
                                          "n": 42, "ro": 1}
        out = CliRunner().invoke(main, ["sql", TYPED, "--param", "name=x", *remote])
        assert out.exit_code == 1 and out.output.startswith(
            f"Error: {url}: no value given for {{ids:Array(String)}}, {{at:DateTime64(3, 'UTC')}}")
        out = CliRunner().invoke(main, ["sql", TYPED, "--param", "name", *remote])
        assert out.exit_code == 2 and 'Invalid value for \'--param\': "name" is not NAME=VALUE' in out.output
