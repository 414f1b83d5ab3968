"""Rules of the plan's `call_centre` part: lead rules against the forms they name, tracking numbers, the lever.

Run by `cross_check` (crosscheck.py) on a plan whose shape is valid; each problem carries its path.
"""

from __future__ import annotations

from tagplan.errors import Report
from tagplan.messages import did_you_mean
from tagplan.model import Plan, Property
from tagplan.phone import e164


def check_call_centre(plan: Plan, report: Report) -> None:
    """The rules of `call_centre`: its lead rules against the forms, its numbers, its lever."""
    cc = plan.call_centre
    where: list[str | int] = ["call_centre"]
    for form_id, rule in cc.leads.items():
        at = where + ["leads", form_id]
        form = plan.forms.get(form_id)
        if form is None:
            report(at, "lead_form_unknown", form=form_id, hint=did_you_mean(form_id, plan.forms))
            continue
        steps = [s.id for s in form.steps]
        if rule.from_step not in steps:
            report(at + ["from_step"], "lead_step_unknown", form=form_id, step=rule.from_step,
                   hint=did_you_mean(rule.from_step, steps), expected=", ".join(steps))
        found: dict[str, tuple[int, Property]] = {}
        for key in ("phone", "consent"):
            name = getattr(rule, key)
            hits = [(i, s.properties[name]) for i, s in enumerate(form.steps) if name in s.properties]
            if not hits:
                names = sorted({p for s in form.steps for p in s.properties})
                report(at + [key], "lead_property_unknown", form=form_id, key=key, prop=name,
                       hint=did_you_mean(name, names))
                continue
            found[key] = hits[0]
            prop = hits[0][1]
            if key == "phone" and prop.type != "phone":
                report(at + [key], "lead_phone_not_phone", form=form_id, prop=name, type=prop.type)
            elif key == "phone" and not prop.pii and name not in plan.identity:
                report(at + [key], "lead_phone_kept", form=form_id, prop=name)
            elif key == "consent" and prop.type != "boolean":
                report(at + [key], "lead_consent_not_boolean", form=form_id, prop=name, type=prop.type)
        if len(found) == 2:
            (phone_at, _), (consent_at, _) = found["phone"], found["consent"]
            if phone_at != consent_at:
                report(at + ["consent"], "lead_consent_apart", form=form_id, prop=rule.consent,
                       step=form.steps[consent_at].id, phone=rule.phone, phone_step=form.steps[phone_at].id)
            elif rule.from_step in steps and steps.index(rule.from_step) <= phone_at:
                report(at + ["from_step"], "lead_step_not_after_phone", form=form_id, step=rule.from_step,
                       phone_step=steps[phone_at])
    if cc.numbers:
        region = plan_region(plan)
        numbers = cc.numbers
        seen: dict[str, int] = {}
        default = e164(numbers.default, region)
        if not default:
            report(where + ["numbers", "default"], "number_invalid", number=numbers.default, region=region)
        for i, number in enumerate(numbers.pool):
            normal = e164(number, region)
            if not normal:
                report(where + ["numbers", "pool", i], "number_invalid", number=number, region=region)
            elif normal in seen:
                report(where + ["numbers", "pool", i], "number_twice", number=number, first=seen[normal] + 1)
            elif normal == default:
                report(where + ["numbers", "pool", i], "number_is_default", number=number)
            if normal:
                seen.setdefault(normal, i)
    levers = plan.levers.names if plan.levers else []
    if cc.lever and cc.lever not in levers:
        report(where + ["lever"], "call_centre_lever_not_declared", lever=cc.lever, hint=did_you_mean(cc.lever, levers))


def plan_region(plan: Plan) -> str:
    """The region of numbers written without a country code: the first phone identity key's (FR without one)."""
    return next((k.region for k in plan.identity.values() if k.type == "phone"), "FR")
