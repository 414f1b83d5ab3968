"""`parcours plan docs`: the plan as a page for web developers, with ready-to-paste tag calls."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from tagplan.conversions import conversion_map
from tagplan.model import BUILTIN_EVENTS, Plan, Property

SAMPLES = {
    "string": "text", "integer": 3, "number": 12.5, "boolean": True, "url": "https://www.example.fr/page",
    "email": "name@example.fr", "phone": "+33612345678", "date": "2026-01-31", "datetime": "2026-01-31T14:30:00+01:00",
}
"""An example value per type, shown in the tag calls (enums show their first value)."""


@dataclass
class Section:
    title: str
    text: str = ""
    rows: list[list[str]] = field(default_factory=list)
    code: list[str] = field(default_factory=list)


HEADER = ["property", "type", "required", "rules", "description"]


def sections(plan: Plan) -> list[Section]:
    """The page's content, independent of its format."""
    out = [Section(
        f"Tagging plan {plan.version}",
        "Install the parcours snippet on every page; the calls below send the plan's events. "
        "Calls made before the tag loads are queued and replayed in order. "
        f"Consent mode: {plan.consent_mode}"
        + (f" (sent before consent: {', '.join(plan.consent_exempt_events)})" if plan.consent_exempt_events else "")
        + ". Built-in events sent by the tag itself: " + ", ".join(BUILTIN_EVENTS) + ".",
    )]
    for name, event in plan.events.items():
        text = event.description
        if event.conversion is not None:
            fields = ", ".join(f"{f} from {p}" for f, p in conversion_map(plan, event).fields.items())
            text += (" " if text else "") + (f"A conversion: each one is also stored as a sale ({fields}). A server "
                                             f'sends it with a Segment track call named "{name}" (docs/segment.md).')
        out.append(Section(f"Event {name}", text, _rows(event.properties), [_call("track", [name], event.properties)]))
    for form_id, form in plan.forms.items():
        calls = []
        for s in form.steps:
            required = {n: p for n, p in s.properties.items() if p.required}
            calls.append(_call("step", [form_id, s.id], required))
            if len(required) < len(s.properties):
                calls.append("// or with its optional properties: " + _call("step", [form_id, s.id], s.properties))
        calls.append(_call("submit", [form_id], form.submit.properties, always=True))
        steps = "; ".join(f"{i}. {s.id}" + (f" ({s.label})" if s.label else "") + (", optional" if s.optional else "") for i, s in enumerate(form.steps, start=1))
        how = ("Mark the form up: data-parcours-form=\"%s\" on its container, data-parcours-step=\"ID\" on each "
               "step's section, data-parcours-done on the thank-you message; the tag records each step as the next "
               "one shows. Call submit with the submit properties." % form_id) if form.markup else \
            "Call each step when the visitor completes it (no page reload needed), then submit."
        text = (f"{form.label}. " if form.label else "") + f"Steps, in order: {steps}. " + how
        rows = [[f"{s.id}.{r[0]}", *r[1:]] for s in form.steps for r in _rows(s.properties)]
        rows += [[f"submit.{r[0]}", *r[1:]] for r in _rows(form.submit.properties)]
        out.append(Section(f"Form {form_id}", text, rows, calls))
    capture = plan.capture
    params = ([f"{capture.broker.param} (broker ID, kept {capture.broker.keep_days} days)"] if capture.broker else [])
    params += [f"{p.name} (kept {p.keep_days} days)" for p in capture.params]
    if params:
        out.append(Section("Captured URL parameters",
                           "Read by the tag from the landing URL and attached to later events: " + ", ".join(params) + "."))
    return out


def _rows(properties: Mapping[str, Property]) -> list[list[str]]:
    rows = []
    for name, p in properties.items():
        rules = []
        if p.type == "enum":
            rules.append("one of " + ", ".join(p.values or []))
        if p.max_length is not None:
            rules.append(f"at most {p.max_length} characters")
        if p.pattern is not None:
            rules.append(f"matches {p.pattern}")
        if p.pii:
            rules.append("personal data: validated, never stored as sent")
        text = f"{p.label}. {p.description}" if p.label and p.description else p.label or p.description
        rows.append([name, p.type, "yes" if p.required else "no", "; ".join(rules), text])
    return rows


def _call(command: str, args: list[str], properties: Mapping[str, Property], always: bool = False) -> str:
    parts = [f"'{a}'" for a in [command, *args]]
    if properties or always:
        values = ", ".join(f"{name}: {_sample(p)}" for name, p in properties.items())
        parts.append("{" + values + "}")
    return f"parcours({', '.join(parts)});"


def _sample(p: Property) -> str:
    if p.type == "enum":
        value = (p.values or [""])[0]
    elif p.pattern is not None:
        return "'...'"  # no honest example for an arbitrary pattern; the table shows it
    else:
        value = SAMPLES[p.type]
        if isinstance(value, str) and p.max_length is not None:
            value = value[: p.max_length]
    return "'" + value.replace("'", "\\'") + "'" if isinstance(value, str) else json.dumps(value)


def render_markdown(plan: Plan) -> str:
    lines: list[str] = []
    for i, s in enumerate(sections(plan)):
        lines += [("# " if i == 0 else "## ") + s.title, ""]
        if s.text:
            lines += [s.text, ""]
        if s.rows:
            lines += ["| " + " | ".join(HEADER) + " |", "|" + " --- |" * len(HEADER)]
            lines += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in s.rows]
            lines.append("")
        if s.code:
            lines += ["```js", *s.code, "```", ""]
    return "\n".join(lines)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_html(plan: Plan) -> str:
    e = html.escape
    body: list[str] = []
    for i, s in enumerate(sections(plan)):
        body.append(f"<h{1 if i == 0 else 2}>{e(s.title)}</h{1 if i == 0 else 2}>")
        if s.text:
            body.append(f"<p>{e(s.text)}</p>")
        if s.rows:
            body.append("<table><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in HEADER) + "</tr></thead><tbody>")
            body += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in s.rows]
            body.append("</tbody></table>")
        if s.code:
            body.append("<pre><code>" + e("\n".join(s.code)) + "</code></pre>")
    title = e(f"Tagging plan {plan.version}")
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{title}</title><style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


_CSS = (
    "body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
    "table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}"
    "pre{background:#f4f4f4;padding:.75rem;overflow-x:auto}"
)
