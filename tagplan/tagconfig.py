"""The part of the plan the browser tag needs, under the short keys it reads (docs/tag.md, "The compiled config")."""

from __future__ import annotations

from urllib.parse import urlsplit

from tagplan.model import Plan


def tag_config(plan: Plan) -> dict:
    """The tag config of a plan: what `/t.js` carries in place of its placeholder.

    Every byte here is served with the tag: keys whose value is the tag's default are left out.
    """
    capture = plan.capture
    keep = {capture.broker.param: capture.broker.keep_days} if capture.broker else {}
    keep.update({p.name: p.keep_days for p in capture.params})
    hosts: list[str] = []
    for site in plan.sites:
        for origin in site.origins:
            host = urlsplit(origin).hostname
            if host and host not in hosts:
                hosts.append(host)
    config = {
        "v": plan.version,
        "e": "collect",
        "b": capture.broker.param if capture.broker else "",
        "p": keep,
        "s": hosts,
        # Required steps only: the tag names in form_abandon the first of these not completed, which must not
        # be an optional step the visitor skipped (it would also sit before the call-back leads' from_step).
        "f": {form_id: [s.id for s in form.steps if not s.optional] for form_id, form in plan.forms.items()},
    }
    personal = personal_properties(plan)
    if personal:
        config["n"] = personal
    if plan.consent_mode == "required":
        config["c"] = "required"
        config["x"] = plan.consent_exempt_events
    addons = [name for name, used in ADDONS.items() if used(plan)]
    if addons:
        config["a"] = addons  # names here; the collector serves each add-on's code in their place
    return config


def personal_properties(plan: Plan) -> list[str]:
    """Names of the properties the plan declares a phone or pii anywhere (its phone identity keys, what `identify`
    carries, among them): the tag never writes to storage an event carrying a value for one (docs/tag.md)."""
    forms = plan.forms.values()
    declared = [*(s.properties for f in forms for s in f.steps), *(f.submit.properties for f in forms),
                *(e.properties for e in plan.events.values())]
    return list(dict.fromkeys(name for props in declared for name, p in props.items() if p.type == "phone" or p.pii))


ADDONS = {"markup": lambda plan: any(form.markup for form in plan.forms.values()),
          "numbers": lambda plan: plan.call_centre.numbers is not None}
"""Optional parts of the tag (tag_js/scripts/build.js), each with when a plan needs it."""
