"""Plan diff: each kind of change classified compatible or breaking."""

from __future__ import annotations

import pytest

from tagplan import load_plan
from tagplan.diff import BREAKING, COMPATIBLE, Change, diff_plans, has_breaking
from tests.conftest import EXAMPLE_PLAN

BASE = EXAMPLE_PLAN.read_text()


def diff(tmp_path, old: str, new: str) -> list[Change]:
    (tmp_path / "old.yaml").write_text(old)
    (tmp_path / "new.yaml").write_text(new)
    return diff_plans(load_plan(tmp_path / "old.yaml"), load_plan(tmp_path / "new.yaml"))


def changes(tmp_path, old: str, new: str) -> list[tuple[str, str, str]]:
    return [(c.kind, c.where, c.what) for c in diff(tmp_path, old, new)]


def edit(*pairs: tuple[str, str]) -> str:
    text = BASE
    for a, b in pairs:
        assert a in text, a
        text = text.replace(a, b, 1)
    return text


def test_same_plan_has_no_change(tmp_path):
    assert changes(tmp_path, BASE, BASE) == []


SLOT = "      slot: {type: enum, values: [morning, afternoon, evening]}\n"
QUOTE = '        quote_id: {type: string, required: true, max_length: 40, pattern: "^Q-[A-Z0-9]+$"}\n'
CB = "events.callback_requested"
LEADS = BASE[BASE.index("  leads:\n"):BASE.index("  numbers:\n")]
"""The call-back lead rule, which reads the rider step's phone: removed with that step."""


@pytest.mark.parametrize(("new", "expected"), [
    (edit(('version: "2026.11.1"', 'version: "2026.12.0"')), [(COMPATIBLE, "version", '"2026.11.1" -> "2026.12.0"')]),
    (edit(("  brochure_downloaded:\n", "  brochure_downloaded_old:\n")),
     [(BREAKING, "events.brochure_downloaded", "event removed; sites still sending it will be rejected"),
      (COMPATIBLE, "events.brochure_downloaded_old", "event added")]),
    (edit((SLOT, "")), [(BREAKING, f"{CB}.properties.slot", "property removed; events still carrying it will be rejected")]),
    (edit((SLOT, SLOT + "      note: {type: string}\n")), [(COMPATIBLE, f"{CB}.properties.note", "optional property added")]),
    (edit((SLOT, SLOT + "      note: {type: string, required: true}\n")),
     [(BREAKING, f"{CB}.properties.note", "new required property; events without it will be rejected")]),
    (edit((SLOT, "      slot: {type: enum, values: [morning, afternoon]}\n")),
     [(BREAKING, f"{CB}.properties.slot", "enum value(s) removed: evening")]),
    (edit((SLOT, "      slot: {type: enum, values: [morning, afternoon, evening, night]}\n")),
     [(COMPATIBLE, f"{CB}.properties.slot", "enum value(s) added: night")]),
    (edit((SLOT, "      slot: {type: string}\n")), [(COMPATIBLE, f"{CB}.properties.slot", "type enum -> string")]),
    (edit((SLOT, "      slot: {type: enum, values: [morning, afternoon, evening], required: true}\n")),
     [(BREAKING, f"{CB}.properties.slot", "now required")]),
    (edit(("          engine_cc: {type: integer}", "          engine_cc: {type: number}")),
     [(COMPATIBLE, "forms.moto_quote.steps.vehicle.properties.engine_cc", "type integer -> number")]),
    (edit(("          monthly_price: {type: number,", "          monthly_price: {type: integer,")),
     [(BREAKING, "forms.moto_quote.steps.coverage.properties.monthly_price",
       "type number -> integer; values valid before may be rejected")]),
    (edit((QUOTE, QUOTE.replace("max_length: 40", "max_length: 20"))),
     [(BREAKING, "forms.moto_quote.submit.properties.quote_id", "max_length 40 -> 20")]),
    (edit((QUOTE, QUOTE.replace("max_length: 40", "max_length: 80"))),
     [(COMPATIBLE, "forms.moto_quote.submit.properties.quote_id", "max_length 40 -> 80")]),
    (edit((QUOTE, QUOTE.replace("^Q-[A-Z0-9]+$", "^Q-[0-9]+$"))),
     [(BREAKING, "forms.moto_quote.submit.properties.quote_id", "pattern ^Q-[A-Z0-9]+$ -> ^Q-[0-9]+$")]),
    (edit((QUOTE, QUOTE.replace(', pattern: "^Q-[A-Z0-9]+$"', ""))),
     [(COMPATIBLE, "forms.moto_quote.submit.properties.quote_id", "pattern ^Q-[A-Z0-9]+$ -> none")]),
    (edit(("      phone: {type: phone, required: true, pii: true}\n      slot",
           "      phone: {type: phone, required: true}\n      slot")),
     [(BREAKING, f"{CB}.properties.phone", "no longer personal data: its values will now be stored")]),
    (edit(("      - id: rider\n        label: Vous\n        properties:\n          licence_years: {type: integer}\n"
           "          phone: {type: phone, pii: true}     # optional here: to be called back (call_centre.leads)\n"
           "          callback_consent: {type: boolean, description: The call-back box ticked.}\n", ""),
          (LEADS, "")),
     [(BREAKING, "forms.moto_quote.steps.rider", "step removed; sites still sending it will be rejected"),
      (BREAKING, "forms.moto_quote.steps.coverage", "step_index 3 -> 2; funnels across versions no longer line up"),
      (BREAKING, "forms.moto_quote.steps.contact", "step_index 4 -> 3; funnels across versions no longer line up")]),
    (edit(("      - {id: contact, label: Vos coordonnées}\n",
           "      - {id: contact, label: Vos coordonnées}\n      - {id: confirm}\n")),
     [(COMPATIBLE, "forms.moto_quote.steps.confirm", "step added at position 5")]),
    (edit(("      - {id: contact, label: Vos coordonnées}\n", "      - {id: contact, label: Vos coordonnées, optional: true}\n")),
     [(COMPATIBLE, "forms.moto_quote.steps.contact", "now optional: funnels count later steps without it")]),
    (edit(("    param: courtier ", "    param: partenaire ")),
     [(BREAKING, "capture.broker.param", "courtier -> partenaire; links carrying ?courtier= lose their broker")]),
    (edit(("    - {name: utm_content, keep_days: 30}\n", "")),
     [(BREAKING, "capture.params.utm_content", "no longer captured; attribution and lever rules lose it")]),
    (edit(("{name: gclid, keep_days: 90}", "{name: gclid, keep_days: 30}")),
     [(COMPATIBLE, "capture.params.gclid", "keep_days 90 -> 30")]),
    (edit(("consent: exempt\n", "consent: {mode: required, exempt_events: [page_view]}\n")),
     [(BREAKING, "consent", "mode exempt -> required; what the tag sends before consent changes"),
      (COMPATIBLE, "consent.exempt_events", "page_view now sent before consent")]),
    (edit(("      - http://localhost:8000\n", "")), [(BREAKING, "sites", "origin http://localhost:8000 removed; its events will be refused")]),
    (edit(("  - {id: B107, name: Assurland Moto, lever: broker}", "  - {id: B107, name: Assurland, lever: affiliation}")),
     [(COMPATIBLE, "brokers.B107", "Assurland Moto (broker) -> Assurland (affiliation)")]),
    (edit(("    label: Devis assurance moto\n", "    label: Devis assurance moto\n    markup: true\n")),
     [(COMPATIBLE, "forms.moto_quote.markup", "the tag now carries the declarative helper")]),
    (edit(("    region: FR", "    region: BE")),
     [(BREAKING, "identity.phone.region", "FR -> BE; the same number may hash differently")]),
])
def test_classification(tmp_path, new, expected):
    assert changes(tmp_path, BASE, new) == expected


def test_has_breaking_is_true_when_one_change_breaks(tmp_path):
    assert has_breaking(diff(tmp_path, BASE, BASE)) is False
    compatible = diff(tmp_path, BASE, edit(('version: "2026.11.1"', 'version: "2026.12.0"'), (SLOT, SLOT + "      note: {type: string}\n")))
    assert [c.kind for c in compatible] == [COMPATIBLE, COMPATIBLE]
    assert has_breaking(compatible) is False
    mixed = diff(tmp_path, BASE, edit(('version: "2026.11.1"', 'version: "2026.12.0"'), (SLOT, "")))
    assert [c.kind for c in mixed] == [COMPATIBLE, BREAKING]
    assert has_breaking(mixed) is True
    assert has_breaking(mixed[1:]) is True and has_breaking(mixed[:1]) is False
