"""The part of the plan the browser tag needs, under the short keys it reads (docs/tag.md, "The compiled config")."""

from __future__ import annotations

from urllib.parse import urlsplit

from tagplan.model import DEFAULT_KEEP_DAYS, Plan


def tag_config(plan: Plan) -> dict:
    """The tag config of a plan: what `/t.js` carries in place of its placeholder."""
    capture = plan.capture
    keep = {capture.broker.param: capture.broker.keep_days} if capture.broker else {}
    keep.update({p.name: p.keep_days for p in capture.params})
    hosts: list[str] = []
    for site in plan.sites:
        for origin in site.origins:
            host = urlsplit(origin).hostname
            if host and host not in hosts:
                hosts.append(host)
    return {
        "v": plan.version,
        "e": "collect",
        "b": capture.broker.param if capture.broker else "",
        "d": capture.broker.keep_days if capture.broker else DEFAULT_KEEP_DAYS,
        "p": [p.name for p in capture.params],
        "k": keep,
        "c": plan.consent_mode,
        "x": plan.consent_exempt_events,
        "s": hosts,
        "f": {form_id: [s.id for s in form.steps] for form_id, form in plan.forms.items()},
    }
