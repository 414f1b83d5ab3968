"""docs/analysts.md prints every report's fields and SQL from the registry and the .sql files: kept current."""

from __future__ import annotations

import re

from journeys import docs
from journeys.reports import REPORTS, sql_text


def test_the_report_reference_is_current():
    text = docs.DOC.read_text()
    assert docs.missing(text) == [], "a report has no block in docs/analysts.md: run `make docs`"
    assert text == docs.render(text), "docs/analysts.md is stale: run `make docs`"


def test_every_report_prints_its_sql_file_and_every_field():
    text = docs.DOC.read_text()
    for report in REPORTS.values():
        assert sql_text(report.sql).rstrip() in text
        for column in report.columns:
            assert f"| `{column.name}` |" in text


def test_every_key_of_the_match_document_is_named_in_its_section(store, plan):
    """Tools read the match report's JSON (one object, not rows) by the names its section gives: every key, the
    nested ones too (`by_reason` said nothing of "no visit counted", which it holds)."""
    from journeys import reports

    text = docs.DOC.read_text()
    section = " ".join(text[text.index("\n## Match\n"):text.index("<!-- report match:")].split())  # lines joined
    doc = reports.run(store, plan, "match", {"from": "2026-10-01", "to": "2026-11-01"}).document

    def keys(value):
        for key, inner in value.items():
            yield key
            if isinstance(inner, dict):
                yield from keys(inner)

    assert [k for k in keys(doc) if f"`{k}`" not in section and f'"{k}"' not in section] == []


def test_every_option_a_report_is_said_to_take_is_a_flag_of_the_command():
    """docs/analysts.md says which options each report takes (`--phone-key` for person): each is a flag of
    `parcours report`, which had no `--phone-key`."""
    from journeys.cli import report

    flags = {opt for param in report.params for opt in param.opts}
    said = {flag for report_ in REPORTS.values()
            for flag in re.findall(r"`(--[a-z-]+)`", docs.reference(report_).split("\n")[0])}
    assert sorted(said - flags) == []


def test_the_fields_listed_for_each_report_are_the_keys_of_its_json_rows(store, plan):
    """A tool reads each row's keys by the names listed (without --by, `segment` is no key): campaigns listed
    `segment` where its rows hold `campaign`."""
    from journeys import reports

    text = docs.DOC.read_text()
    for name in REPORTS:
        block = text[text.index(f"<!-- report {name}: generated"):text.index(f"<!-- end of report {name} -->")]
        listed = [f for f in re.findall(r"^\| `(\w+)` \|", block, re.M) if f != "segment"]
        raw = {"from": "2026-10-01", "to": "2026-11-01", **({"quote_id": "Q-NONE"} if name == "person" else {})}
        assert listed == reports.run(store, plan, name, raw).columns, name


def test_the_worked_example_of_a_report_s_sql_shows_the_figures_of_the_data_set_it_names(engine_dir, store, ctx, plan):
    """"Running a report's SQL": the command as printed, on the demo data set the page names, prints the rows the
    page shows. The page showed October's figures of an older seed (display 536 visits, 12,377.43 of cost where
    the seed it names gives 538 and 13,000.92): an analyst checking the page against their own run found other
    figures."""
    import datetime as dt
    import io
    import shlex

    from click.testing import CliRunner

    from collector.cli import main
    from journeys import costs, seed
    from journeys.reports.base import for_database

    text = docs.DOC.read_text()
    section = text[text.index("\n## Running a report's SQL\n"):text.index("\n## Options\n")]
    command = re.search(r"```sh\n.*?\n(parcours sql - < journeys/reports/levers\.sql.*?)\n```", section, re.S).group(1)
    shown = re.search(r"```\n(lever .*?)\n…\n```", section, re.S).group(1).splitlines()
    named = re.search(r"\(`parcours demo seed --visitors (\d+) --days (\d+) --until ([\d-]+)`'s data\.\)", section)
    data = seed.generate(visitors=int(named[1]), days=int(named[2]), until=dt.date.fromisoformat(named[3]))
    seed.store_events(store, plan, ctx.secret, data.events)
    for name, kind, profile in seed.import_order(data.files):
        if kind == "costs":  # the figures shown are traffic, leads and cost
            costs.import_file(store, ctx, io.BytesIO(data.files[name]), source=name, profile=profile)
    words = shlex.split(command.replace("\\\n", " "))
    assert words[:3] == ["parcours", "sql", "-"] and words[3:5] == ["<", "journeys/reports/levers.sql"], words[:5]
    out = CliRunner().invoke(main, ["sql", "-", *words[5:], "--clickhouse", f"chdb://{engine_dir}",
                                    "--database", store.database],
                             input=for_database(sql_text("levers.sql"), store.database))
    assert out.exit_code == 0, out.output
    printed = [line.rstrip() for line in out.output.splitlines()]
    assert printed[:len(shown)] == shown
