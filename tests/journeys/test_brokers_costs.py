"""The broker table (plan as default, refreshed by an import) and campaign costs (the cost sample's shape)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import msgspec

from journeys import brokers, costs
from tests.journeys.conftest import COSTS_FILE, data, rows


def table(store) -> dict[str, dict]:
    return {r["broker_id"]: r for r in rows(store, "SELECT * FROM parcours.brokers FINAL")}


def test_the_plan_fills_the_broker_table_once(store, plan):
    assert brokers.sync_plan(store, plan) == 4
    assert brokers.sync_plan(store, plan) == 0, "nothing new: nothing written"
    got = table(store)
    assert (got["B042"]["name"], got["B042"]["lever"], got["B042"]["source"]) == ("Comparamoto", "broker", "plan")


def test_an_import_refreshes_names_at_once_and_the_plan_never_overwrites_it(store, ctx, plan):
    brokers.sync_plan(store, plan)
    csv = ("broker_id,name,lever,shop,network\n"
           "B042,Comparamoto Lyon,broker,Lyon Part-Dieu,Réseau Rhône\n"
           "B017,Karim Benali,broker,Villeurbanne,Réseau Rhône\n"
           "B018,,brokr,,\n")
    summary = brokers.import_file(store, ctx, data(csv), source="reseau.csv")
    assert (summary.imported, summary.updated, summary.rejected) == (1, 1, 1)
    assert [(r.line, r.reasons) for r in summary.rejects] == [
        (4, ["name: required", 'lever: "brokr" is not declared in levers.names (did you mean "broker"?)'])]
    got = table(store)
    assert (got["B042"]["name"], got["B042"]["shop"], got["B042"]["source"]) == (
        "Comparamoto Lyon", "Lyon Part-Dieu", "reseau.csv")
    assert brokers.sync_plan(store, plan) == 0, "an imported broker is kept over the plan's"
    assert table(store)["B042"]["name"] == "Comparamoto Lyon"
    # A plan that renames a broker it still owns updates it.
    renamed = dataclasses.replace(plan, brokers={**plan.brokers, "D001": msgspec.structs.replace(
        plan.brokers["D001"], name="Régie Display")})
    assert brokers.sync_plan(store, renamed) == 1 and table(store)["D001"]["name"] == "Régie Display"


def test_the_plan_s_own_broker_csv_imports_as_it_is(store, ctx, tmp_path):
    csv = tmp_path / "brokers.csv"
    csv.write_text("id,name,lever\nB042,Comparamoto,broker\nA310,Moto-Station,affiliation\n")
    with csv.open("rb") as fh:
        summary = brokers.import_file(store, ctx, fh, source="brokers.csv")
    assert summary.imported == 2 and table(store)["A310"]["lever"] == "affiliation"


def test_the_ad_platform_cost_export_imports_through_its_profile(store, ctx):
    with COSTS_FILE.open("rb") as fh:
        summary = costs.import_file(store, ctx, fh, source=COSTS_FILE.name, profile="regie")
    assert (summary.lines, summary.imported, summary.rejected) == (5, 5, 0)
    got = rows(store, "SELECT day, lever, campaign, amount, currency FROM parcours.costs FINAL ORDER BY day, lever")
    assert got[0] == {"day": dt.date(2026, 10, 1), "lever": "display", "campaign": "moto-spring",
                      "amount": Decimal("412.50"), "currency": "EUR"}
    assert len(got) == 5
    with COSTS_FILE.open("rb") as fh:
        again = costs.import_file(store, ctx, fh, source=COSTS_FILE.name, profile="regie")
    assert (again.imported, again.unchanged) == (0, 5)
    fixed = data("day,lever,campaign,amount\n2026-10-01,display,moto-spring,400.00\n2026-10-01,tv,spot,9\n")
    summary = costs.import_file(store, ctx, fixed, source="fix.csv")
    assert (summary.updated, summary.rejected) == (1, 1)
    assert summary.rejects[0].reasons == ['lever: "tv" is not declared in levers.names']
    assert rows(store, "SELECT amount FROM parcours.costs FINAL WHERE day = '2026-10-01' AND lever = 'display'") == [
        {"amount": Decimal("400.00")}]


def test_a_reason_quotes_a_lever_as_the_rejected_fields_keep_it(store, ctx):
    # Outside probe: a phone typed as the lever was masked in the kept fields but quoted whole in the reason.
    summary = costs.import_file(store, ctx, data("day,lever,campaign,amount\n2026-10-01,06 81 99 08 62,spot,9\n"),
                                source="costs.csv")
    assert summary.rejects[0].reasons == ['lever: "[redacted]" is not declared in levers.names']
    summary = brokers.import_file(store, ctx, data("broker_id,name,lever\nB9,Jo,06 81 99 08 62\n"), source="b.csv")
    assert summary.rejects[0].reasons == ['lever: "[redacted]" is not declared in levers.names']
    stored = rows(store, "SELECT arrayStringConcat(reasons, ';') AS r FROM parcours.import_rejects")
    assert stored and not any("0681" in row["r"] or "81 99" in row["r"] for row in stored)


def test_a_phone_written_in_groups_as_a_date_is_written_is_masked_in_a_reason(store, ctx):
    """06-81-99-0862 has a date's shape (a "-0862" offset): the reason quoted it whole, stored in import_rejects.
    A mistyped date (2026-13-45) is still quoted as written."""
    summary = costs.import_file(store, ctx, data("day,lever,campaign,amount\n2026-10-01,06-81-99-0862,spot,9\n"
                                                 "2026-10-01,2026-13-45,spot,9\n"), source="costs.csv")
    assert [r.reasons for r in summary.rejects] == [['lever: "[redacted]" is not declared in levers.names'],
                                                     ['lever: "2026-13-45" is not declared in levers.names']]
    stored = rows(store, "SELECT arrayStringConcat(reasons, ';') AS r FROM parcours.import_rejects")
    assert stored and not any("0862" in row["r"] for row in stored)


def test_a_quoted_field_with_text_after_its_closing_quote_is_rejected_not_stored_changed(store, ctx):
    """An outside tester's finding: `"">‹img>"` was taken as the field `>‹img>"` (the csv module's lenient
    reading), stored without a word. The line is rejected with its reason; the others are imported."""
    text = ('day,lever,campaign,amount\n2026-10-01,display,"">\u2039img>",10\n2026-10-02,display,"moto" ,11\n'
            '2026-10-03,display,moto-spring,12\n')
    summary = costs.import_file(store, ctx, data(text), source="costs.csv")
    assert (summary.imported, [(r.line, r.reasons) for r in summary.rejects]) == (1, [
        (2, ["unreadable CSV line: ',' expected after '\"'"]), (3, ["unreadable CSV line: ',' expected after '\"'"])])
    assert rows(store, "SELECT campaign FROM parcours.costs FINAL") == [{"campaign": "moto-spring"}]
