"""`parcours plan check|diff|docs|init` as people and CI run them: exit codes, stdout, stderr."""

from __future__ import annotations

import json

from click.testing import CliRunner

from collector.cli import main
from tagplan import load_plan
from tagplan.cli import STARTER
from tests.conftest import EXAMPLE_PLAN, ROOT

BROKEN = ROOT / "examples" / "broken"


def run(*args):
    return CliRunner().invoke(main, ["plan", *map(str, args)])


def test_check_json_lists_every_error_with_its_code():
    r = run("check", "--format", "json", BROKEN / "rules.yaml")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert doc["ok"] is False and len(doc["errors"]) == 16
    assert doc["errors"][9] == {
        "file": str(BROKEN / "rules.yaml"), "line": 25, "col": 43, "code": "condition_key_unknown",
        "message": 'lever rule 2: unknown condition "courtier_id" (did you mean "courtier"?), expected one of: '
                   "broker_id, click_id, referrer_domain, referrer, gclid, courtier",
    }
    assert r.stderr == ""


def test_check_text_puts_diagnostics_on_stderr():
    r = run("check", BROKEN / "duplicates.yaml")
    assert r.exit_code == 1 and r.stdout == ""
    assert r.stderr.splitlines()[-1] == "2 error(s)"
    ok = run("check", "--format", "json", EXAMPLE_PLAN)
    assert ok.exit_code == 0 and json.loads(ok.stdout)["version"] == "2026.11.1"


def test_diff_exit_codes(tmp_path):
    new = tmp_path / "new.yaml"
    new.write_text(EXAMPLE_PLAN.read_text().replace('"2026.11.1"', '"2026.12.0"').replace(
        "      - {id: contact, label: Vos coordonnées}\n", "      - {id: contact, label: Vos coordonnées}\n      - {id: confirm}\n"))
    r = run("diff", EXAMPLE_PLAN, new)
    assert r.exit_code == 0
    assert r.stdout.splitlines() == [
        'compatible  version: "2026.11.1" -> "2026.12.0"',
        "compatible  forms.moto_quote.steps.confirm: step added at position 5",
    ]
    assert r.stderr == "2 change(s), 0 breaking\n"
    back = run("diff", "--format", "json", new, EXAMPLE_PLAN)
    assert back.exit_code == 1
    doc = json.loads(back.stdout)
    assert doc["breaking"] is True
    assert {"kind": "breaking", "where": "forms.moto_quote.steps.confirm",
            "what": "step removed; sites still sending it will be rejected"} in doc["changes"]


def test_diff_warns_when_the_version_is_not_bumped(tmp_path):
    new = tmp_path / "new.yaml"
    new.write_text(EXAMPLE_PLAN.read_text().replace("{name: gclid, keep_days: 90}", "{name: gclid, keep_days: 60}"))
    r = run("diff", EXAMPLE_PLAN, new)
    assert r.exit_code == 0
    assert r.stderr.startswith('warning: the plan changed but its version is still "2026.11.1"')
    assert run("diff", EXAMPLE_PLAN, EXAMPLE_PLAN).stderr == "no change\n"
    doc = json.loads(run("diff", "--format", "json", EXAMPLE_PLAN, new).stdout)
    assert doc["breaking"] is False and len(doc["warnings"]) == 1


def test_a_plan_that_is_not_a_mapping(tmp_path):
    bad = tmp_path / "plan.yaml"
    bad.write_text("- version: 1\n")
    r = run("check", bad)
    assert r.exit_code == 1
    assert r.stderr == f"{bad}:1:1: the plan must be a mapping of keys (version, events, forms, ...)\n1 error(s)\n"


def test_diff_of_a_broken_plan_exits_2():
    r = run("diff", EXAMPLE_PLAN, BROKEN / "typos.yaml")
    assert r.exit_code == 2 and "typos.yaml:3:10:" in r.stderr


def test_docs_to_stdout_and_to_a_file(tmp_path):
    r = run("docs", EXAMPLE_PLAN)
    assert r.exit_code == 0 and r.stdout.startswith("# Tagging plan 2026.11.1")
    out = tmp_path / "plan.html"
    r = run("docs", "--format", "html", "-o", out, EXAMPLE_PLAN)
    assert r.exit_code == 0 and r.stdout == "" and r.stderr == f"wrote {out}\n"
    assert out.read_text().startswith("<!doctype html>")
    assert run("docs", BROKEN / "typos.yaml").exit_code == 1


def test_init_writes_the_starter_and_never_overwrites(tmp_path):
    target = tmp_path / "parcours.yaml"
    r = run("init", target)
    assert r.exit_code == 0
    assert target.read_text() == EXAMPLE_PLAN.read_text()
    assert load_plan(target).version == "2026.11.1"
    target.write_text("# mine\n")
    r = run("init", target)
    assert r.exit_code == 1
    assert r.stderr == f"Error: {target} already exists; choose another path or remove it first\n"
    assert target.read_text() == "# mine\n"


def test_starter_is_the_example_plan():
    assert STARTER.read_text() == EXAMPLE_PLAN.read_text(), "copy examples/moto-insurance.yaml to tagplan/starter.yaml"


def test_init_default_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run("init").exit_code == 0 and (tmp_path / "parcours.yaml").exists()


def test_check_reports_the_mistakes_of_every_stage_in_one_run():
    r = run("check", BROKEN / "all-stages.yaml")
    assert r.exit_code == 1 and r.stdout == ""
    where = BROKEN / "all-stages.yaml"
    assert r.stderr.splitlines() == [
        f'{where}:7:23: unknown key "lable" (did you mean "label"?), expected one of: id, label, optional, properties',
        f'{where}:11:48: property "plan": enum value "basic" is listed twice',
        f'{where}:13:5: broker "B042": lever "brokr" is not declared in levers.names (did you mean "broker"?)',
        "3 error(s)",
    ]
