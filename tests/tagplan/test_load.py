"""Loading plans: the example is clean; broken plans give every error with its exact line."""

from __future__ import annotations

import pytest

from tagplan import PlanErrors, compile_plan, load_plan
from tests.conftest import EXAMPLE_PLAN, ROOT

BROKEN = ROOT / "examples" / "broken"


def test_example_plan_loads_and_compiles():
    plan = compile_plan(load_plan(EXAMPLE_PLAN))
    assert plan.broker_param == "courtier"
    assert list(plan.steps["moto_quote"]) == ["vehicle", "rider", "coverage", "contact"]
    assert plan.tag_config["f"] == {"moto_quote": ["vehicle", "rider", "coverage", "contact"]}
    assert plan.brokers["B042"].name == "Comparamoto"


def errors_of(path) -> list[str]:
    with pytest.raises(PlanErrors) as info:
        load_plan(path)
    return [str(e).removeprefix(str(path) + ":") for e in info.value.errors]


def test_typos_are_reported_at_their_line_with_a_suggestion():
    assert errors_of(BROKEN / "typos.yaml") == [
        '3:10: "exemt" is not allowed (did you mean "exempt"?), expected one of: exempt, required',
        '7:23: unknown key "lable" (did you mean "label"?), expected one of: id, label, properties',
        '8:14: "Rider" is not a valid name, expected lower-case letters, digits and _ (matching ^[a-z][a-z0-9_]*$)',
    ]


def test_cross_checks_report_every_mistake_at_once():
    assert errors_of(BROKEN / "levers.yaml") == [
        '7:9: form "quote": step "vehicle" is listed twice',
        '10:9: form "callback": step "vehicle" is already used by form "quote"; a step ID belongs to one form',
        '12:3: event "page_view" is built into the tag; declare only custom events',
        '15:37: property "code": invalid pattern: unterminated character set',
        '16:7: property "plan": type enum needs a list of values',
        '18:5: broker "B042": lever "brokr" is not declared in levers.names (did you mean "broker"?)',
        '22:15: lever "dirct" is not declared in levers.names (did you mean "direct"?)',
    ]


def test_invalid_yaml_names_the_line(tmp_path):
    bad = tmp_path / "plan.yaml"
    bad.write_text('version: "1"\nforms: [\n')
    (error,) = errors_of(bad)
    assert error.startswith("3:1: invalid YAML")


def test_missing_file_is_a_plan_error(tmp_path):
    (error,) = errors_of(tmp_path / "nope.yaml")
    assert "cannot read the plan" in error


def test_broker_table_from_csv(tmp_path):
    (tmp_path / "brokers.csv").write_text("id,name,lever\nB1,Un,broker\nB2,Deux\n")
    (tmp_path / "plan.yaml").write_text('version: "1"\nbrokers: brokers.csv\nlevers: {names: [broker]}\n')
    with pytest.raises(PlanErrors) as info:
        load_plan(tmp_path / "plan.yaml")
    (error,) = info.value.errors
    assert (error.file, error.line, error.message) == (str(tmp_path / "brokers.csv"), 3, "expected 3 fields: id,name,lever")
