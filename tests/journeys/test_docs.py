"""docs/analysts.md prints every report's fields and SQL from the registry and the .sql files: kept current."""

from __future__ import annotations

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
