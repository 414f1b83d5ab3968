"""The refused-events report: what the plan set aside, by reason and plan version (the dashboard's data quality)."""

from __future__ import annotations

from journeys.reports.base import COUNTED, Column, Report

REPORT = Report(
    name="rejected",
    title="Events the tagging plan refused, by reason and plan version",
    sql="rejected.sql",
    columns=(
        Column("reason", "why the collector refused the event, as `parcours rejected summary` words it"),
        Column("plan_version", "the `version` of the plan that refused it"),
        Column("events", "distinct refused events (a batch sent twice counts once)", absent=COUNTED),
        Column("replayed", "of those, the events since replayed into `events` once the plan was fixed", absent=COUNTED),
        Column("first_seen", "the collector's receipt time of the first one in the period (UTC)"),
        Column("last_seen", "the same, of the last one"),
        Column("example", "the last one as received, personal data removed: its first 500 characters, then … "
                          "when longer (the whole of it in `parcours export --table rejected_events`)"),
    ),
    keys=("reason", "plan_version"),
)
