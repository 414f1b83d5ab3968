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
