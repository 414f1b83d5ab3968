"""Touches: each session, dated at its start, with the lever of its own landing (`parcours.touches`).

A session whose landing URL carried campaign or broker parameters has a `touch` event: its lever is that
event's, given by the plan's lever rules at collection. Any other session's landing carries no parameter,
so only the rules that can match without one apply, and only through its referrer: `referrer_rules` is
that part of the plan's rules, in order, as the view's `referrer_rules` parameter evaluates it in SQL.
"""

from __future__ import annotations

from typing import Any

from tagplan import CompiledPlan
from tagplan.levers import Facts
from tagplan.model import BROKER_LEVER

REFERRER_KEYS = ("referrer", "referrer_domain")
RuleRow = tuple[list[str], str, str]
"""(referrer domains, referrer condition, lever): [] and "" mean no condition of that kind."""


def referrer_rules(plan: CompiledPlan) -> list[RuleRow]:
    """The plan's lever rules as they apply to a landing without parameters, in the plan's order.

    A rule stays when each of its other conditions (broker id, click id, captured parameters) holds with
    nothing captured, as the collector's compiled condition itself says; its referrer conditions go to SQL.
    `broker_lever` gives "" without a broker, as in tagplan.levers (the view then says 'direct').
    """
    if not plan.plan.levers:
        return []
    nothing = Facts("", {}, "", "")
    out: list[RuleRow] = []
    for rule, (conditions, lever) in zip(plan.plan.levers.rules, plan.levers.rules):
        domains: list[str] = []
        referrer = ""
        holds = True
        for (key, cond), condition in zip(rule.when.items(), conditions):
            values = [cond] if isinstance(cond, str) else list(cond)
            if key == "referrer_domain":
                domains = values
            elif key == "referrer":
                referrer = values[0] if values[0] in ("external", "present", "absent") else "never"
            elif not condition(nothing):
                holds = False
        if holds and referrer != "never":
            out.append((domains, referrer, "" if lever == BROKER_LEVER else lever))
    return out


def view_parameters(plan: CompiledPlan) -> dict[str, Any]:
    """The touch views' plan-given parameters (from and to are the report's): the referrer rules, and the
    lever of a call matched by a phone (parcours.call_touches: the plan's call_centre.lever, else direct)."""
    return {"referrer_rules": referrer_rules(plan), "call_lever": plan.plan.call_centre.lever or "direct"}
