"""The runner: one function behind the CLI and the API, the same values in table, CSV and JSON."""

from __future__ import annotations

import csv
import decimal
import io
import json
import subprocess
import sys

import pytest

from collector.app import create_app
from journeys import reports
from journeys.reports.base import Result, for_database, sql_text
from journeys.reports.render import render
from tests.conftest import EXAMPLE_PLAN, ROOT, Client
from tests.journeys.builder import Journeys

PERIOD = {"from": "2026-03-01", "to": "2026-04-01"}
ADMIN = {"authorization": "Bearer admin-test-token"}


def quote(j: Journeys, visitor: str, day: str, steps: int) -> None:
    names = ["vehicle", "rider", "coverage", "contact"]
    for i in range(steps):
        j.step("moto_quote", names[i], i + 1, visitor, f"s-{visitor}", f"{day} 10:0{i}", elapsed_ms=1000)


@pytest.fixture
def events(store):
    j = Journeys()
    quote(j, "A", "2026-03-02", 4)
    quote(j, "B", "2026-03-03", 2)
    quote(j, "C", "2026-02-20", 1)  # the previous period
    j.store(store)


def test_formats_hold_the_same_values(store, plan, events):
    result = reports.run(store, plan, "funnel", PERIOD)
    doc = json.loads(render(result, "json"))
    assert [r["visitors"] for r in doc] == [2, 2, 1, 1, 0]
    assert doc[0] == {"step_index": 1, "step": "vehicle", "label": "Votre moto", "optional": False, "visitors": 2,
                      "completions": 2, "from_first": 1.0, "from_previous": None, "drop_off": None, "abandons": 0,
                      "median_seconds": 1.0, "p90_seconds": 1.0}
    rows = list(csv.DictReader(io.StringIO(render(result, "csv"))))
    assert list(rows[0]) == result.columns
    assert [(r["step"], r["visitors"], r["from_previous"]) for r in rows][:3] == [
        ("vehicle", "2", ""), ("rider", "2", "1.0"), ("coverage", "1", "0.5")]
    table = render(result, "table").splitlines()
    assert table[0].split(" | ")[:3] == ["step_index", "step    ", "label          "]
    assert table[-1] == "(5 rows)" and "| Votre moto      |" in table[2]


def test_compare_adds_the_previous_period_beside_each_figure(store, plan, events):
    result = reports.run(store, plan, "funnel", {**PERIOD, "compare": "true"})
    assert result.columns[:7] == ["step_index", "step", "label", "optional", "visitors", "visitors_previous",
                                  "completions"]
    first = result.records()[0]
    assert (first["visitors"], first["visitors_previous"]) == (2, 1)  # C, in the 31 days before March


def test_documents_render_as_themselves():
    result = Result(["a"], [[1]], document={"conversions": 3, "by_reason": {"no key": 1}})
    assert json.loads(render(result, "json")) == {"conversions": 3, "by_reason": {"no key": 1}}


def test_the_printed_sql_is_the_file_with_its_parameters(plan):
    text = reports.sql_for("parcours", plan, "funnel", PERIOD)
    sets, _, sql = text.partition("\n\n")
    assert sql == sql_text("funnel.sql")
    assert "SET param_from = '2026-03-01 00:00:00.000';" in sets
    assert "SET param_chains = '[[1, 2, 3, 4, 0]]';" in sets
    assert "SET param_form = 'moto_quote';" in sets


def test_a_shared_fragment_is_spliced_whole_where_a_line_names_it():
    fragment = sql_text("filtered_sales.sql").rstrip()
    for name in ("overview.sql", "brokers.sql"):
        text = sql_text(name)
        assert text.count(fragment + ",\n") == 1 and "\n{filtered_sales}" not in text


def test_another_database_is_substituted_for_parcours_tables_only():
    sql = "SELECT 'parcours.events' FROM parcours.events JOIN parcours.touches(from = 1) USING x"
    assert for_database(sql, "db2") == "SELECT 'db2.events' FROM db2.events JOIN db2.touches(from = 1) USING x"


def test_the_api_answers_the_runners_json(settings, store, plan, events):
    with Client(create_app(settings)) as client:
        r = client.get("/api/reports/funnel", params=PERIOD, headers=ADMIN)
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        assert r.text == render(reports.run(store, plan, "funnel", PERIOD), "json")
        r = client.get("/api/reports/funnel", params={**PERIOD, "format": "csv"}, headers=ADMIN)
        assert r.headers["content-type"].startswith("text/csv") and r.text.startswith("step_index,step,label")
        r = client.get("/api/reports/funnel", params={**PERIOD, "model": "linear"}, headers=ADMIN)
        assert r.status_code == 400
        taken = ["from", "to", "form", "by", "window", "lever", "campaign", "broker", "device", "compare", "format"]
        assert r.json() == {"error": 'funnel does not take "model"; it takes: from, to, form, by, window, lever, campaign, broker, device, compare, format',
                            "code": "option_not_taken", "values": {"option": "model", "report": "funnel", "accepted": taken}}
        assert client.get("/api/reports/nope", headers=ADMIN).status_code == 404
        assert client.get("/api/reports/funnel").status_code == 401


def test_the_cli_opens_the_engine_when_no_collector_runs(tmp_path):
    # Separate processes: chDB allows one data directory per process, and the tests hold another.
    fill = (
        "from collector.storage import Store, default_dsn\n"
        "from pathlib import Path\n"
        "from tests.journeys.test_runner import quote\n"
        "from tests.journeys.builder import Journeys\n"
        f"s = Store(default_dsn(Path({str(tmp_path)!r}))); s.migrate()\n"
        "j = Journeys(); quote(j, 'A', '2026-03-02', 3); j.store(s); s.close()\n"
    )
    subprocess.run([sys.executable, "-c", fill], check=True, cwd=ROOT, timeout=120)
    out = subprocess.run(
        [sys.executable, "-m", "collector", "report", "funnel", "--from", "2026-03-01", "--to", "2026-04-01",
         "--format", "csv", "--plan", str(EXAMPLE_PLAN), "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert [line.split(",")[:5] for line in out.stdout.splitlines()[1:]] == [
        ["1", "vehicle", "Votre moto", "false", "1"], ["2", "rider", "Vous", "false", "1"],
        ["3", "coverage", "Vos garanties", "false", "1"], ["4", "contact", "Vos coordonnées", "false", "0"],
        ["0", "submit", "submit", "false", "0"]]
    bad = subprocess.run([sys.executable, "-m", "collector", "report", "funnel", "--window", "x", "--plan",
                          str(EXAMPLE_PLAN), "--data-dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.startswith('Error: window: "x" is not a duration') and "Traceback" not in bad.stderr


def test_a_quote_id_holding_a_phone_is_found_by_the_cli_as_by_the_api(tmp_path, settings):
    """The collector keeps a quote id holding a phone number with the number keyed (its token); the admin API
    keys the id it is asked for the same way, and so do the command line with no collector running and the SQL
    printed for a client: each finds the quote, and no raw number is in the SQL."""
    secret = "a-secret-of-this-test"
    fill = (
        "from collector.storage import Store, default_dsn\n"
        "from collector import redact\n"
        "from pathlib import Path\n"
        "from tagplan import compile_plan, load_plan\n"
        "from tests.journeys.builder import Journeys\n"
        f"kept = redact.of(compile_plan(load_plan(Path({str(EXAMPLE_PLAN)!r})))).keyed('0612345678', {secret!r}.encode())\n"
        "assert kept != '0612345678'\n"
        f"s = Store(default_dsn(Path({str(tmp_path)!r}))); s.migrate()\n"
        "j = Journeys(); j.page('v1', 's1', '2026-03-02 10:00')\n"
        "j.submit('moto_quote', 'v1', 's1', '2026-03-02 10:05', properties={'quote_id': kept}); j.store(s); s.close()\n"
    )
    subprocess.run([sys.executable, "-c", fill], check=True, cwd=ROOT, timeout=120)
    base = [sys.executable, "-m", "collector", "report", "person", "--quote-id", "06 12 34 56 78", "--plan",
            str(EXAMPLE_PLAN), "--data-dir", str(tmp_path), "--secret", secret]
    found = subprocess.run([*base, "--format", "json"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert found.returncode == 0, found.stderr
    assert [r["kind"] for r in json.loads(found.stdout)] == ["visit", "quote"]
    printed = subprocess.run([*base, "--sql"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert "[phone:" in printed.stdout and "12 34 56 78" not in printed.stdout and "612345678" not in printed.stdout
    with Client(create_app(settings)) as client:
        admin = {"authorization": f"Bearer {settings.admin_token}"}
        sql = client.get("/api/reports/person/sql?quote_id=0612345678", headers=admin).text
        assert "[phone:" in sql and "612345678" not in sql


@pytest.mark.parametrize("name", list(reports.REPORTS))
def test_every_report_answers_on_an_empty_database_with_its_documented_fields(store, plan, name):
    raw = {**PERIOD, "interval": "day"} if name == "overview" else {**PERIOD, "quote_id": "Q-NONE"} \
        if name == "person" else PERIOD
    result = reports.run(store, plan, name, raw)
    by = reports.REPORTS[name].defaults.get("by")
    documented = [by if c == "segment" else c for c in reports.REPORTS[name].column_names if c != "segment" or by]
    assert result.columns == documented
    if name == "overview":
        assert len(result.rows) == 31 and all(r[1] == 0 for r in result.rows)
    elif name == "match":  # its line of all sales, in zeros, as its JSON
        assert [r[:3] for r in result.rows] == [["all", "", 0]]
    elif name != "funnel":
        assert result.rows == []


@pytest.mark.parametrize("name", ["overview", "funnel", "levers", "brokers", "attribution"])
def test_the_printed_sql_pasted_into_a_client_gives_the_same_rows(engine_dir, store, plan, events, name):
    """What `parcours report NAME --sql` prints, run as a person would in clickhouse-client (SET param_…
    lines, then the query), returns the rows the runner's SQL step returns."""
    from collector.storage import Client
    from journeys.reports import Context, options, parameters

    spec = reports.REPORTS[name]
    ctx = Context(store, plan, options(name, PERIOD), spec)
    expected = ctx.query(spec.sql, parameters(ctx)).rows
    text = reports.sql_for(store.database, plan, name, PERIOD)
    sets, _, sql = text.partition("\n\n")
    client = Client(f"chdb://{engine_dir}")  # a session of its own for the SET lines
    try:
        for line in sets.splitlines():
            client.command(line.rstrip(";"))
        assert client.query(sql).rows == expected
    finally:
        client.close()


def test_a_left_out_fragment_is_dropped_from_the_sql():
    # The runner leaves the calls as touches out of the paths' SQL when no call started in their window.
    full = sql_text("conversion_paths.sql")
    without = sql_text("conversion_paths.sql", frozenset({"call_touch_rows"}))
    assert "parcours.call_touches(" in full
    assert "parcours.call_touches(" not in without
    assert "{call_touch_rows}" not in without and "parcours.touches(" in without


def test_a_period_the_engine_cannot_count_in_days_is_refused_before_any_query(settings, store, plan):
    """A previous period before 1970, or an end past 2100 (ClickHouse's Date ends in 2149 and wraps round): its
    series of days would never end, so it is refused at once with what to do, never run."""
    with pytest.raises(reports.ReportError, match="previous period.*before 1970-01-01"):
        reports.options("overview", {"from": "1970-01-01", "to": "2000-01-01", "compare": "true"})
    with pytest.raises(reports.ReportError) as info:
        reports.options("overview", {"from": "2026-01-01", "to": "9999-12-31"})
    assert str(info.value) == ('to: "9999-12-31" is out of range: a period lies between 1970-01-01T00:00:00Z and '
                               "2100-01-01T00:00:00Z")
    # Not moved to the nearest day it can count: a series of days from 1900 was 56 years of days from 1970
    for given, key in (({"from": "1900-01-01", "interval": "day"}, "from"), ({"from": "2300-01-01", "to": "2300-02-01"}, "to"),
                       ({"from": "1969-01-01", "to": "1969-02-01"}, "to")):
        with pytest.raises(reports.ReportError, match=f'^{key}: "{given[key]}" is out of range'):
            reports.options("overview", given)
    assert reports.options("overview", {"from": "1970-01-01", "to": "2100-01-01"}).end.year == 2100
    assert reports.options("overview", {"from": "999999w"}).start.year == 1970  # a duration: from the beginning
    # However long (an outside tester's finding: seven digits and more were "not a time")
    for ago in ("9999999d", "1000000w", "999999999m", "9999999999d", "999999999999w", "99999999999m"):
        assert reports.options("overview", {"from": ago}).start.year == 1970, ago
    # A device is one the collector reads off a user agent: a mistyped one found nothing, silently.
    with pytest.raises(reports.ReportError, match='^device: "toaster" is not known; use one of: desktop, mobile'):
        reports.options("levers", {"device": "toaster"})
    assert reports.options("levers", {"device": "tablet"}).device == "tablet"
    with pytest.raises(reports.ReportError, match=r"^from \(1970-01-01T00:00:00Z\) must be before to"):
        reports.options("overview", {"to": "1970-01-01"})  # its default from, 30 days before, is no day counted
    with pytest.raises(reports.ReportError, match="match does not compare periods"):
        reports.options("match", {"from": "2026-01-01", "to": "2026-02-01", "compare": "true"})
    assert reports.options("overview", {"from": "1990-01-01", "to": "2000-01-01", "compare": "true"}).compare
    with Client(create_app(settings)) as client:
        r = client.get("/api/reports/overview", headers=ADMIN, params={
            "from": "1970-01-01", "to": "9999-12-31", "interval": "day", "compare": "true"})
        assert r.status_code == 400 and "2100-01-01" in r.json()["error"]
        r = client.get("/api/reports/overview", headers=ADMIN, params={**PERIOD, "format": ""})
        assert r.headers["content-type"] == "application/json"  # given empty: the API's default


def test_csv_cells_a_spreadsheet_would_run_as_formulas_stay_text():
    """Anyone can put a formula in a URL's utm_campaign; the marketer's spreadsheet must not run it."""
    result = Result(["campaign", "visits", "revenue"], [['=HYPERLINK("http://evil.example","x")', 3, -1.5],
                                                        ["+33 spring", 1, 0], ["@sum", 0, 2], ["moto-spring", 2, 0],
                                                        ["-12.5", 0, 0]])
    rows = list(csv.reader(io.StringIO(render(result, "csv"))))
    assert rows[1] == ["'=HYPERLINK(\"http://evil.example\",\"x\")", "3", "-1.5"]
    assert [r[0] for r in rows[2:]] == ["'+33 spring", "'@sum", "moto-spring", "-12.5"]  # text that is a number: none


def test_the_excel_csv_is_the_csv_as_french_excel_opens_it():
    """The reports' CSV (`,`, `.` decimals, no BOM) opened in Excel set to French as one column: `excel` is the same
    cells with a UTF-8 BOM, `;` between them and decimal commas, the same digits (no exponent), text untouched."""
    result = Result(["campaign", "visits", "revenue", "rate", "tiny", "note"],
                    [["moto;spring", 3, decimal.Decimal("1234.50"), 0.1234567, 1e-05, "v1.2"],
                     ["=cmd", 0, decimal.Decimal("-2.00"), None, 2.0, "Coût"]])
    text = render(result, "excel")
    assert text.startswith("\ufeff") and text.encode("utf-8").startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    assert rows == [["campaign", "visits", "revenue", "rate", "tiny", "note"],
                    ["moto;spring", "3", "1234,50", "0,1234567", "0,00001", "v1.2"],
                    ["'=cmd", "0", "-2,00", "", "2,0", "Coût"]]
    assert render(result, "csv").splitlines()[1] == '"moto;spring",3,1234.50,0.1234567,1e-05,v1.2'


def test_a_text_holding_the_other_list_separator_is_quoted_so_no_cell_of_excel_begins_a_formula():
    """Excel splits a CSV on its locale's separator, whatever the file's: the API's CSV in a French Excel is split
    on `;`, the excel format in an English one on `,`. A campaign `x;=1+1` (anyone's utm_campaign) was written
    unquoted, and began a cell of its own with `=`, a formula. Quoted, a reader of the file's own separator reads
    the same cells; the figures (-2,00) are not quoted."""
    result = Result(["lever", "campaign", "revenue"], [["display", "x;=1+1", decimal.Decimal("-2.00")],
                                                       ["email", "y,=2+2", decimal.Decimal("3.50")],
                                                       ["tv", 'z\t=1+1"', None]])
    text = render(result, "csv")
    assert text.splitlines()[1:] == ['display,"x;=1+1",-2.00', 'email,"y,=2+2",3.50', 'tv,"z\t=1+1""",']
    # Read on `;` as a French Excel reads it (a quote opens a quoted cell only at a cell's start): a cell that
    # still begins with `=` holds an odd number of `"`, a string never closed, no formula
    for row in csv.reader(io.StringIO(text), delimiter=";"):
        assert all(cell.count('"') % 2 for cell in row if cell.startswith("=")), row
    excel = render(result, "excel")
    assert excel.splitlines()[1:] == ['display;"x;=1+1";-2,00', 'email;"y,=2+2";3,50', 'tv;"z\t=1+1""";']
    for row in csv.reader(io.StringIO(excel), delimiter=","):
        assert all(cell.count('"') % 2 for cell in row if cell.startswith("=")), row
    assert list(csv.reader(io.StringIO(text))) [1:] == [["display", "x;=1+1", "-2.00"], ["email", "y,=2+2", "3.50"],
                                                        ["tv", 'z\t=1+1"', ""]]
    assert list(csv.reader(io.StringIO(excel[1:]), delimiter=";"))[1:] == [
        ["display", "x;=1+1", "-2,00"], ["email", "y,=2+2", "3,50"], ["tv", 'z\t=1+1"', ""]]


def test_a_csv_cell_holding_a_carriage_return_is_quoted_and_reads_back_whole():
    """A campaign is stored as the URL sent it (`utm_campaign=spring%0Dsale`): a carriage return in a cell left
    unquoted split its row in two for every CSV reader. Lines still end with `\\n`; a line break within a cell is
    kept as it is."""
    result = Result(["campaign", "visits"], [["spring\rsale", 3], ["two\r\nlines", 1], ["moto-spring", 2]])
    text = render(result, "csv")
    assert text == 'campaign,visits\n"spring\rsale",3\n"two\r\nlines",1\nmoto-spring,2\n'
    assert list(csv.reader(io.StringIO(text, newline=""))) == [["campaign", "visits"], ["spring\rsale", "3"],
                                                               ["two\r\nlines", "1"], ["moto-spring", "2"]]


def test_the_api_prints_a_reports_sql_with_the_running_collectors_plan(settings, store, plan):
    """`parcours report NAME --sql` beside a running collector asks it (its plan, not a parcours.yaml that the
    directory may not hold): the same text as printed from the plan file."""
    with Client(create_app(settings)) as client:
        r = client.get("/api/reports/levers/sql", params={**PERIOD, "model": "linear"}, headers=ADMIN)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        assert r.text == reports.sql_for(store.database, plan, "levers", {**PERIOD, "model": "linear"})
        assert "SET param_from" in r.text
        assert client.get("/api/reports/levers/sql", params={"model": "nope"}, headers=ADMIN).status_code == 400


def test_a_bad_bound_of_the_period_is_named_and_a_period_within_a_millisecond_is_refused(store, plan):
    """The message names the option at fault (it said `from/to:` for either). The SQL reads a bound to the
    millisecond: a period within one ran as from = to, and even the overview, a line per period, answered none."""
    from journeys.reports import ReportError

    with pytest.raises(ReportError, match='^to: "2026-02-30" is not a time'):
        reports.options("overview", {"from": "2026-02-01", "to": "2026-02-30"})
    with pytest.raises(ReportError, match='^from: "yesterday" is not a time'):
        reports.options("overview", {"from": "yesterday"})
    with pytest.raises(ReportError, match=r"^from \(2026-10-01T00:00:00Z\) must be before to"):
        reports.run(store, plan, "overview", {"from": "2026-10-01T00:00:00.0001", "to": "2026-10-01T00:00:00.0009"})
    assert len(reports.run(store, plan, "overview", {"from": "2026-10-01T00:00:00.0001",
                                                     "to": "2026-10-01T00:00:00.0019"}).rows) == 1


def test_a_refusal_carries_a_stable_code_and_what_it_names_beside_its_message(settings, store, plan):
    """The dashboard said the API's English message on its French page: beside the message, each refusal a viewer
    can meet names itself with a stable code and the values its message was written from, which the page words in
    its language; the message stays as it was for the other tools."""
    with Client(create_app(settings)) as client:
        def refused(method, name, status, **kwargs):
            r = client.request(method, f"/api/reports/{name}", headers=ADMIN, **kwargs)
            assert r.status_code == status, r.text
            return r.json()

        assert refused("GET", "overview", 400, params={"from": "2026-10-02", "to": "2026-10-01"}) == {
            "error": "from (2026-10-02T00:00:00Z) must be before to (2026-10-01T00:00:00Z)", "code": "period_order",
            "values": {"from": "2026-10-02T00:00:00Z", "to": "2026-10-01T00:00:00Z"}}
        doc = refused("GET", "funnel", 400, params={**PERIOD, "form": "home_quote"})
        assert doc["code"] == "form_unknown" and doc["values"] == {"form": "home_quote", "forms": list(plan.plan.forms)}
        assert doc["error"].startswith('form: the plan has no form "home_quote"; forms: ')
        doc = refused("POST", "person", 400, json={"phone": "12"})
        assert doc == {"error": "phone: not a valid phone number (e.g. 06 12 34 56 78 or +33 6 12 34 56 78)",
                       "code": "phone_invalid", "values": {}}
        doc = refused("GET", "levers", 400, params={**PERIOD, "model": "newest"})
        assert doc["code"] == "choice_unknown" and doc["values"]["option"] == "model"
        assert doc["values"]["value"] == "newest" and "linear" in doc["values"]["allowed"]
        assert refused("GET", "levers", 400, params=[("lever", "a"), ("lever", "b")])["code"] == "option_repeated"
        assert refused("GET", "nope", 404)["code"] == "report_unknown"
        # A refusal of the session (the dashboard's own words by status) names its answer too
        r = client.get("/api/reports/levers")
        assert r.status_code == 401 and r.json()["code"] == "unauthorized"


@pytest.mark.parametrize("phone", ["06 12 34 56 78", "06-12-34-5678", "6-12-34-5678", "0612-34-5678"])
def test_a_phone_typed_anywhere_in_a_reports_options_never_comes_back_in_a_refusal(settings, store, plan, phone):
    """A refusal's message and values are shown on the page (its message under Technical detail) and may be
    logged: a phone number sent in a POST body, as an option's value or as a key, came back whole in the
    message of a time (from: "06 12 34 56 78" is not a time), a key given a list or twice, and, written in
    groups as a date is (06-12-34-5678), in every quoted value."""
    bodies = [("levers", {"from": phone}), ("levers", {"to": phone}), ("paths", {"limit": phone}),
              ("levers", {"model": phone}), ("levers", {phone: "x"}), ("levers", {phone: [1]}),
              ("funnel", {"form": phone}), ("levers", {"by": phone}), ("levers", {"lookback": phone}),
              ("levers", {"compare": phone}), ("person", {"phone": phone, "colour": phone})]
    digits = "".join(c for c in phone if c.isdigit())
    with Client(create_app(settings)) as client:
        answers = [client.post(f"/api/reports/{name}", headers=ADMIN, json=body) for name, body in bodies]
        twice = json.dumps({phone: 1})[:-1] + ", " + json.dumps({phone: 2})[1:]
        answers.append(client.post("/api/reports/levers", headers={**ADMIN, "content-type": "application/json"},
                                   content=twice.encode()))
    for r in answers:
        assert r.status_code == 400 and r.json()["code"], r.text
        shown = r.json()["error"] + json.dumps(r.json()["values"])
        assert phone not in shown and digits[-4:] not in "".join(c for c in shown if c.isdigit()), r.text


def test_a_mistyped_date_is_quoted_as_typed_and_a_phone_with_a_dates_shape_is_not():
    with pytest.raises(reports.ReportError, match='^from: "2026-13-45" is not a time'):
        reports.options("overview", {"from": "2026-13-45"})
    with pytest.raises(reports.ReportError, match=r'^from: "\[redacted\]" is not a time') as info:
        reports.options("overview", {"from": "06-12-34-5678"})
    assert info.value.error_values == {"option": "from", "value": "[redacted]"}


def test_a_line_break_or_tab_in_a_text_keeps_the_table_one_line_per_row():
    """A campaign is anyone's URL text (utm_campaign=a%0Ab): in the table it broke its row in two."""
    result = Result(["campaign", "visits"], [["spring\nsale", 3], ["cr\rlf\tx", 1]])
    lines = render(result, "table").splitlines()
    assert len(lines) == 5 and lines[2].startswith("spring\\nsale ") and lines[3].startswith("cr\\rlf\\tx ")
    assert len({len(line) for line in lines[:4]}) == 1, "the columns in line"


def test_a_column_of_fractions_reads_alike_in_the_table():
    """Sales credited in part: a column of them read 9 under 12.00; rates (under 10) keep their 4 places."""
    result = Result(["lever", "conversions", "rate"], [["a", 12.0, 0.1234], ["b", 9.0, 0.5], ["c", 0.5, None]])
    lines = render(result, "table").splitlines()
    assert [line.split(" | ")[1:] for line in lines[2:5]] == [["      12.00", "0.1234"], ["       9.00", "   0.5"],
                                                               ["       0.50", "     -"]]


def test_the_options_a_report_that_compares_no_periods_lists_leave_compare_out():
    """`person` and `match` refuse compare; the message listing what they take named it among them."""
    with pytest.raises(reports.ReportError) as info:
        reports.options("person", {"quote_id": "Q", "lever": "display"})
    assert str(info.value) == 'person does not take "lever"; it takes: from, to, quote_id, phone_key, format'
    with pytest.raises(reports.ReportError) as info:
        reports.options("match", {"colour": "red"})
    assert str(info.value) == ('unknown option "colour"; match takes: from, to, by, lookback, lever, campaign, broker, '
                               'device, format')
    with pytest.raises(reports.ReportError, match=", compare, format$"):
        reports.options("levers", {"colour": "red"})


@pytest.mark.parametrize("limit", ["²", "¹²", "①"])
def test_a_limit_of_digits_python_reads_as_digits_but_not_as_a_number_is_a_400(settings, store, limit):
    """`limit=²` passed str.isdigit and failed int(): a 500 where it is a mistake in an option."""
    with pytest.raises(reports.ReportError, match="is not a whole number from 1 to 10000"):
        reports.options("paths", {"limit": limit})
    with Client(create_app(settings)) as client:
        r = client.get("/api/reports/paths", headers=ADMIN, params={**PERIOD, "limit": limit})
        assert r.status_code == 400 and r.json()["error"] == f'limit: "{limit}" is not a whole number from 1 to 10000'
        assert r.json()["code"] == "limit_invalid"
    assert reports.options("paths", {"limit": "12"}).limit == 12
