"""The funnel report on a hand-made form of 4 steps, one optional: every figure counted by hand."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from journeys import closing, reports
from journeys.reports.funnel import chains
from tests.journeys.builder import Journeys

FORM = """\
  quote:
    label: Devis
    steps:
      - id: vehicle
        label: Votre moto
        properties:
          variant: {type: enum, values: [a, b]}
      - {id: rider, label: Vous}
      - {id: coverage, label: Vos garanties, optional: true}
      - {id: contact}
    submit:
      properties:
        quote_id: {type: string}
"""
PERIOD = {"from": "2026-03-01", "to": "2026-04-01"}
STEPS = ["vehicle", "rider", "coverage", "contact"]


def journey(j: Journeys, visitor: str, steps: list[str], start: str = "2026-03-02 10:00", gap_s: int = 60,
            last_gap_s: int | None = None, submit: bool = False, abandon: str | None = None, **fields) -> list:
    """The visitor completes `steps` one a minute apart (the last `last_gap_s` after the previous one)."""
    import datetime as dt

    t = dt.datetime.fromisoformat(start)
    variant = fields.pop("variant", None)
    rows = [j.page(visitor, f"s-{visitor}", t.isoformat(" "), **fields)]
    for n, step in enumerate(steps):
        gap = last_gap_s if last_gap_s is not None and n == len(steps) - 1 else gap_s
        t += dt.timedelta(seconds=gap)
        props = {"variant": variant} if variant and step == "vehicle" else None
        rows.append(j.step("quote", step, STEPS.index(step) + 1, visitor, f"s-{visitor}", t.isoformat(" "),
                           elapsed_ms=gap * 1000, properties=props, **fields))
    if submit:
        t += dt.timedelta(seconds=5)
        rows.append(j.submit("quote", visitor, f"s-{visitor}", t.isoformat(" "), **fields))
    if abandon:
        t += dt.timedelta(seconds=30)
        rows.append(j.abandon("quote", abandon, STEPS.index(abandon) + 1, visitor, f"s-{visitor}", t.isoformat(" ")))
    return rows


@pytest.fixture
def quote_plan(plan_file):
    return plan_file(FORM)


KEPT = ["live", "kept", "split-kept", "late"]
"""Where the funnel reads the events from: the events table (no closing run yet); the rows a closing run kept
(parcours.closed_form_sessions); a run whose closed_before falls in the middle of the journeys (the steps before
it kept), then a second run that keeps the rest (a session in two rows); a run, then A's batch retried after it
(A's session late: read from the events until the next run). Every test using funnel_data gives the same
figures each way. (A session part kept, part read from the events: tests/journeys/test_closing.py.)"""


@pytest.fixture(params=KEPT)
def funnel_data(request, store, monkeypatch):
    monkeypatch.setattr(closing, "MARGIN", dt.timedelta(0))
    j, a = _funnel_events()
    j.store(store)
    if request.param != "late":
        j.store(store, a)  # A's batch retried: stored twice until merged, counted once
    if request.param == "split-kept":
        with monkeypatch.context() as m:
            m.setattr(closing, "closed_before", lambda now: dt.datetime(2026, 3, 2, 10, 2, 30))
            assert closing.close(store).form_sessions > 0
    if request.param in ("kept", "split-kept", "late"):
        assert closing.close(store).form_sessions > 0
    if request.param == "late":
        j.store(store, a)  # retried after the run
    return j


def _funnel_events():
    j = Journeys()
    a = journey(j, "A", STEPS, submit=True, variant="a", device_type="mobile")  # everything
    a.append(j.add("touch", "A", "s-A", "2026-03-02 10:00", lever="display", utm_medium="cpm"))
    journey(j, "B", ["vehicle", "rider", "contact"], submit=True, variant="b", device_type="mobile")  # skips the optional step
    journey(j, "C", ["vehicle", "rider", "coverage"], abandon="contact", variant="a")  # leaves at contact
    journey(j, "D", ["vehicle"], abandon="rider", variant="b")                          # leaves at rider
    journey(j, "E", ["vehicle", "rider", "contact"], last_gap_s=2 * 86400, variant="a")  # contact 2 days later
    journey(j, "F", ["rider"])                                                # never started the form
    journey(j, "G", STEPS, submit=True, is_bot=True)                          # a crawler
    journey(j, "H", STEPS, submit=True, start="2026-04-02 10:00")             # after the period
    return j, a


def rows_by_step(result):
    return {r["step"]: r for r in result.records()}


def test_four_steps_with_an_optional_one(store, quote_plan, funnel_data):
    funnel = reports.run(store, quote_plan, "funnel", PERIOD)
    assert funnel.columns == [c for c in reports.REPORTS["funnel"].column_names if c != "segment"]
    rows = rows_by_step(funnel)
    assert [r["step"] for r in funnel.records()] == [*STEPS, "submit"]
    assert {s: rows[s]["visitors"] for s in rows} == {
        "vehicle": 5,   # A B C D E
        "rider": 4,     # A B C E
        "coverage": 2,  # A C: the optional step, after the required ones before it
        "contact": 2,   # A B: B skipped the optional step; E came back after the 1-day window
        "submit": 2,    # A B
    }
    assert rows["coverage"]["optional"] is True and rows["contact"]["optional"] is False
    assert {s: rows[s]["completions"] for s in rows} == {
        "vehicle": 5, "rider": 5, "coverage": 2, "contact": 3, "submit": 2}  # F's rider, E's late contact
    assert rows["rider"]["from_previous"] == pytest.approx(4 / 5) and rows["rider"]["drop_off"] == 1
    # Drop-off is counted from the previous *required* step, for the optional step and after it.
    assert rows["coverage"]["from_previous"] == pytest.approx(2 / 4) and rows["coverage"]["drop_off"] == 2
    assert rows["contact"]["from_previous"] == pytest.approx(2 / 4) and rows["contact"]["drop_off"] == 2
    assert rows["submit"]["from_first"] == pytest.approx(2 / 5) and rows["submit"]["drop_off"] == 0
    assert rows["vehicle"]["from_previous"] is None and rows["vehicle"]["drop_off"] is None
    assert {s: rows[s]["abandons"] for s in rows} == {"vehicle": 0, "rider": 1, "coverage": 0, "contact": 1,
                                                      "submit": 0}
    assert rows["vehicle"]["median_seconds"] == 60 and rows["submit"]["median_seconds"] is None
    # contact: A and B after 60 s, E after 2 days: the median is 60 s, the 90th percentile 80% of the way
    # from the second value to the third (interpolated, as numpy's percentile).
    assert rows["contact"]["median_seconds"] == 60
    assert rows["contact"]["p90_seconds"] == pytest.approx(60 + 0.8 * (2 * 86400 - 60))


def test_breakdowns_by_a_property_the_device_and_the_lever(store, quote_plan, funnel_data):
    def counts(by):
        result = reports.run(store, quote_plan, "funnel", {**PERIOD, "by": by})
        assert result.columns[0] == by
        out = {}
        for r in result.records():
            out.setdefault(r[by], []).append(r["visitors"])
        return out

    assert counts("variant") == {"a": [3, 3, 2, 1, 1], "b": [2, 1, 0, 1, 1], "": [0, 0, 0, 0, 0]}  # "": F
    assert counts("device") == {"mobile": [2, 2, 1, 2, 2], "": [3, 2, 1, 0, 0]}
    assert counts("lever") == {"display": [1, 1, 1, 1, 1], "direct": [4, 3, 1, 1, 1]}
    with pytest.raises(reports.ReportError) as info:
        reports.run(store, quote_plan, "funnel", {**PERIOD, "by": "phone"})  # personal data: not a breakdown
    assert str(info.value) == ('by: the property "phone" is personal data (pii); funnel splits by lever, campaign, '
                               'broker, device or a property of the plan that names no one')


def test_a_property_sent_as_null_is_no_value_of_the_breakdown(store, quote_plan):
    """A step carrying the property as JSON null (a page's unset variable: `{variant: null}`, which the collector
    takes) gives no segment: a visitor's value is the first real one, and one with none is in the empty segment,
    as a visitor whose events never carry it; before, both made a segment named "null"."""
    j = Journeys()
    j.page("N", "s-N", "2026-03-02 10:00")
    j.step("quote", "vehicle", 1, "N", "s-N", "2026-03-02 10:01", properties={"variant": None})
    j.step("quote", "rider", 2, "N", "s-N", "2026-03-02 10:02", properties={"variant": "b"})
    j.page("O", "s-O", "2026-03-02 11:00")
    j.step("quote", "vehicle", 1, "O", "s-O", "2026-03-02 11:01", properties={"variant": None})
    j.step("quote", "vehicle", 1, "P", "s-P", "2026-03-02 12:01", properties={"variant": "a"})
    j.store(store)
    result = reports.run(store, quote_plan, "funnel", {**PERIOD, "by": "variant"})
    assert {r["variant"]: r["visitors"] for r in result.records() if r["step_index"] == 1} == {"a": 1, "b": 1, "": 1}


def test_a_property_sent_empty_is_no_value_of_the_breakdown_as_null_is(store, quote_plan):
    """The collector takes a property sent as "" as it takes null, as not given (an enum `variant` of a or b
    passes empty, never as "c"): the breakdown skips it too. Before, a visitor whose first step carried
    {variant: ""} (a page's variable left empty) was in the empty segment, the one of visitors whose events
    never carry it, though a later step of theirs said "b". A real value such as "null", false or 0 is one."""
    j = Journeys()
    j.step("quote", "vehicle", 1, "N", "s-N", "2026-03-02 10:01", properties={"variant": ""})
    j.step("quote", "rider", 2, "N", "s-N", "2026-03-02 10:02", properties={"variant": "b"})
    j.step("quote", "vehicle", 1, "O", "s-O", "2026-03-02 11:01", properties={"variant": ""})
    for visitor, value in (("P", "null"), ("Q", False), ("R", 0)):
        j.step("quote", "vehicle", 1, visitor, f"s-{visitor}", "2026-03-02 12:01", properties={"variant": value})
        j.step("quote", "rider", 2, visitor, f"s-{visitor}", "2026-03-02 12:02", properties={"variant": "a"})
    j.store(store)
    result = reports.run(store, quote_plan, "funnel", {**PERIOD, "by": "variant"})
    assert {r["variant"]: r["visitors"] for r in result.records() if r["step_index"] == 1} == {
        "b": 1, "": 1, "null": 1, "false": 1, "0": 1}


def test_no_breakdown_lists_every_visitor_s_identifier(store, quote_plan):
    """A breakdown by the quote id (an identity key), an e-mail, a URL or a time would be a list of every
    visitor's value: refused, by the API too (a viewer may call it), with what to split by instead."""
    assert "quote_id" in quote_plan.plan.identity
    with pytest.raises(reports.ReportError, match='by: the property "quote_id" is an identity key of the plan: it '
                                                  "would list every visitor's value; funnel splits by lever"):
        reports.run(store, quote_plan, "funnel", {**PERIOD, "by": "quote_id"})
    from journeys.reports.base import declared_properties

    declared = declared_properties(quote_plan)  # the example plan's events, and this form
    every = "it would list every visitor's value"
    assert {k: declared[k] for k in ("email", "quote_id", "document_url", "requested_for", "variant", "slot", "pages",
                                     "premium")} == {
        "email": "is personal data (pii)", "quote_id": f"is an identity key of the plan: {every}",
        "document_url": f"is a url: {every}", "requested_for": f"is a datetime: {every}",
        "variant": "", "slot": "", "pages": "", "premium": ""}
    with pytest.raises(reports.ReportError, match='by: the property "requested_for" is a datetime'):
        reports.run(store, quote_plan, "funnel", {**PERIOD, "by": "requested_for"})


def test_a_breakdown_adds_up_to_the_whole_funnel(store, quote_plan, funnel_data):
    """Each visitor is in one segment: per step, the segments' visitors, completions and abandons add up to the
    whole funnel's, wherever the events are read from (funnel_data: a session kept in two rows among them)."""
    whole = rows_by_step(reports.run(store, quote_plan, "funnel", PERIOD))
    for by in ("variant", "device", "lever", "campaign"):
        result = reports.run(store, quote_plan, "funnel", {**PERIOD, "by": by})
        for field in ("visitors", "completions", "abandons"):
            added: dict[str, int] = {}
            for r in result.records():
                added[r["step"]] = added.get(r["step"], 0) + r[field]
            assert added == {step: row[field] for step, row in whole.items()}, (by, field)
    by_device = {(r["device"], r["step"]): r for r in
                 reports.run(store, quote_plan, "funnel", {**PERIOD, "by": "device"}).records()}
    # mobile: A and B, 60 s on contact each; the others: C left at contact, D at rider, E's contact 2 days on.
    assert by_device["mobile", "contact"]["median_seconds"] == 60
    assert by_device["", "contact"]["p90_seconds"] == 2 * 86400
    assert [by_device["", s]["abandons"] for s in ("rider", "contact")] == [1, 1]
    assert [by_device["mobile", s]["abandons"] for s in ("rider", "contact")] == [0, 0]


def test_the_same_events_with_every_step_required(store, plan_file, funnel_data):
    plan = plan_file(FORM.replace(", optional: true", ""))
    rows = rows_by_step(reports.run(store, plan, "funnel", PERIOD))
    assert [rows[s]["visitors"] for s in [*STEPS, "submit"]] == [5, 4, 2, 1, 1]  # B skipped coverage


def test_a_longer_window_lets_the_late_visitor_in(store, quote_plan, funnel_data):
    rows = rows_by_step(reports.run(store, quote_plan, "funnel", {**PERIOD, "window": "3d"}))
    assert rows["contact"]["visitors"] == 3


def test_chains_follow_the_plan_order(quote_plan):
    paths, rows = chains(quote_plan.plan.forms["quote"])
    assert paths == [[1, 2, 4, 0], [1, 2, 3]]
    assert [(r[2], r[5], r[6], r[7], r[9]) for r in rows] == [
        ("vehicle", 1, 1, 0, 0), ("rider", 1, 2, 1, 1), ("coverage", 2, 3, 2, 2), ("contact", 1, 3, 2, 2),
        ("submit", 1, 4, 4, 3)]


def test_a_form_of_more_steps_than_the_sql_counts_is_refused(quote_plan):
    form = quote_plan.plan.forms["quote"]
    many = msgspec.structs.replace(form, steps=[msgspec.structs.replace(form.steps[0], id=f"s{i}", optional=True)
                                               for i in range(1024)])
    with pytest.raises(reports.ReportError, match="at most 1,023 steps"):
        chains(many)
    assert len(chains(msgspec.structs.replace(form, steps=many.steps[:1023]))[1]) == 1024


def test_a_form_of_more_than_255_steps_is_counted_in_its_order(store, plan_file):
    """A regression probe's finding: forms of up to 1,023 steps are followed, but the funnel's lines held their
    position, chain and previous line in a byte: past 255 steps the lines came out of order (256, 1, 257, 258, 2,
    ...) and an optional step of a chain past 255 counted no visitor."""
    steps = "\n".join(f"      - {{id: s{i}, optional: {'true' if i > 5 else 'false'}}}" for i in range(1, 301))
    plan = plan_file(f"  big:\n    steps:\n{steps}\n")
    j = Journeys()
    for i in (1, 2, 3, 4, 5, 290):
        j.step("big", f"s{i}", i, "V", "s-V", f"2026-03-02 10:{i % 60:02d}", elapsed_ms=1000)
    j.store(store)
    funnel = reports.run(store, plan, "funnel", PERIOD).records()
    assert [r["step_index"] for r in funnel] == [*range(1, 301), 0]
    rows = rows_by_step(reports.run(store, plan, "funnel", PERIOD))
    assert {s: rows[s]["visitors"] for s in ("s5", "s6", "s290", "submit")} == {"s5": 1, "s6": 0, "s290": 1, "submit": 0}
    assert rows["s290"]["from_previous"] == 1 and rows["s290"]["drop_off"] == 0


def test_an_empty_period_gives_every_step_at_zero(store, quote_plan):
    funnel = reports.run(store, quote_plan, "funnel", PERIOD)
    assert [r["visitors"] for r in funnel.records()] == [0, 0, 0, 0, 0]
    assert all(r["from_first"] is None for r in funnel.records())


@pytest.mark.parametrize(("raw", "message"), [
    ({"form": "nope"}, 'form: the plan has no form "nope"; forms: quote'),
    ({"window": "soon"}, 'window: "soon" is not a duration from 1 minute to 400 days (e.g. 90m, 12h, 7d, 2w; '
                         "a bare number counts days)"),
    ({"model": "linear"}, 'funnel does not take "model"; it takes: from, to, form, by, window, lever, campaign, broker, device, compare, format'),
    ({"colour": "red"}, 'unknown option "colour"; funnel takes: from, to, form, by, window, lever, campaign, broker, device, compare, format'),
    ({"from": "2026-04-01", "to": "2026-03-01"}, "from (2026-04-01T00:00:00Z) must be before to (2026-03-01T00:00:00Z)"),
])
def test_mistakes_say_what_to_fix(store, quote_plan, raw, message):
    with pytest.raises(reports.ReportError) as info:
        reports.run(store, quote_plan, "funnel", raw)
    assert str(info.value) == message
