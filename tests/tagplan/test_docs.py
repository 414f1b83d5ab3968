"""Plan docs: a page for web developers with ready-to-paste calls."""

from __future__ import annotations

from html.parser import HTMLParser

from tagplan import load_plan
from tagplan.docs import render_html, render_markdown
from tests.conftest import EXAMPLE_PLAN


def test_markdown_has_each_event_and_form_with_its_calls():
    page = render_markdown(load_plan(EXAMPLE_PLAN))
    assert page.startswith("# Tagging plan 2026.11.1\n")
    assert "## Event callback_requested\n\nThe visitor asked to be called back by an adviser.\n" in page
    assert ("| phone | phone | yes | personal data: validated, never stored as sent |  |\n"
            "| slot | enum | no | one of morning, afternoon, evening |  |\n") in page
    assert ("parcours('track', 'callback_requested', {phone: '+33612345678', slot: 'morning', "
            "requested_for: '2026-01-31T14:30:00+01:00'});") in page
    assert "parcours('track', 'newsletter_joined', {email: 'name@example.fr', opt_in_partners: true});" in page
    assert "## Form moto_quote\n\nDevis assurance moto. Steps, in order: 1. vehicle (Votre moto); 2. rider (Vous);" in page
    for step in ("vehicle", "rider", "coverage", "contact"):
        assert f"\nparcours('step', 'moto_quote', '{step}');\n" in page
    assert ("// or with its optional properties: parcours('step', 'moto_quote', 'vehicle', "
            "{engine_cc: 3, first_registration: '2026-01-31', variant: 'a'});") in page
    # A property's label heads its description in the table.
    assert "| vehicle.variant | enum | no | one of a, b | Variante du formulaire (test A/B) |" in page
    assert "parcours('submit', 'moto_quote', {quote_id: '...', phone: '+33612345678', formula: 'tiers'});" in page
    assert "| submit.quote_id | string | yes | at most 40 characters; matches ^Q-[A-Z0-9]+$ |  |" in page
    assert "courtier (broker ID, kept 30 days)" in page


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.code: list[str] = []
        self._in_code = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._in_code = tag == "code"

    def handle_endtag(self, tag):
        self._in_code = False

    def handle_data(self, data):
        if self._in_code:
            self.code.append(data)


def test_html_is_a_standalone_page_with_escaped_calls():
    page = render_html(load_plan(EXAMPLE_PLAN))
    parsed = _Text()
    parsed.feed(page)
    assert parsed.tags[:3] == ["html", "head", "meta"]
    assert parsed.tags.count("h2") == 6 and parsed.tags.count("table") == 5
    code = "".join(parsed.code)
    assert "parcours('step', 'moto_quote', 'vehicle');" in code
    assert "&#x27;" in page and "<script" not in page


def test_a_markup_form_is_documented_as_markup(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text(EXAMPLE_PLAN.read_text().replace("    label: Devis assurance moto\n",
                                                     "    label: Devis assurance moto\n    markup: true\n"))
    page = render_markdown(load_plan(path))
    assert ("Mark the form up: data-parcours-form=\"moto_quote\" on its container, data-parcours-step=\"ID\" on each "
            "step's section, data-parcours-done on the thank-you message;") in page
    assert "Call each step when the visitor completes it" not in page
