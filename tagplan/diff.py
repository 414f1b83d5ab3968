"""Compare two plans: each change is compatible (old tags and queries keep working) or breaking.

Breaking means: a site tagged for the old plan would now send events the collector rejects,
a stored value changes meaning for analysts (step order, identity hashes), or personal data
would start being stored. CI guards a plan with `parcours plan diff OLD NEW` (exit 1 on breaking).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from tagplan.model import Form, Plan, Property

COMPATIBLE, BREAKING = "compatible", "breaking"

_WIDER_TYPES = {
    # old type -> new types that accept every value the old one did
    "integer": {"number"},
    "enum": {"string"},
    "url": {"string"},
    "email": {"string"},
    "phone": {"string"},
    "date": {"string"},
    "datetime": {"string"},
}


@dataclass(frozen=True)
class Change:
    kind: str
    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.kind:<10}  {self.where}: {self.what}"

    def to_dict(self) -> dict:
        return asdict(self)


def diff_plans(old: Plan, new: Plan) -> list[Change]:
    """Every change from `old` to `new`, in plan order."""
    out: list[Change] = []

    def add(kind: str, where: str, what: str) -> None:
        out.append(Change(kind, where, what))

    if old.version != new.version:
        add(COMPATIBLE, "version", f'"{old.version}" -> "{new.version}"')
    _sites(old, new, add)
    _consent(old, new, add)
    _capture(old, new, add)
    _keyed(old.events, new.events, "events", "event", add, lambda w, a, b: _properties(a.properties, b.properties, w, add))
    _keyed(old.forms, new.forms, "forms", "form", add, lambda w, a, b: _form(a, b, w, add))
    _brokers(old, new, add)
    _levers(old, new, add)
    _identity(old, new, add)
    return out


def has_breaking(changes: list[Change]) -> bool:
    return any(c.kind == BREAKING for c in changes)


def _keyed(old: Mapping, new: Mapping, where: str, noun: str, add, inner) -> None:
    for name in old:
        if name not in new:
            add(BREAKING, f"{where}.{name}", f"{noun} removed; sites still sending it will be rejected")
        else:
            inner(f"{where}.{name}", old[name], new[name])
    for name in new:
        if name not in old:
            add(COMPATIBLE, f"{where}.{name}", f"{noun} added")


def _properties(old: Mapping[str, Property], new: Mapping[str, Property], where: str, add) -> None:
    for name, a in old.items():
        w = f"{where}.properties.{name}"
        if name not in new:
            add(BREAKING, w, "property removed; events still carrying it will be rejected")
            continue
        _property(a, new[name], w, add)
    for name, b in new.items():
        if name not in old:
            if b.required:
                add(BREAKING, f"{where}.properties.{name}", "new required property; events without it will be rejected")
            else:
                add(COMPATIBLE, f"{where}.properties.{name}", "optional property added")


def _property(a: Property, b: Property, w: str, add) -> None:
    if a.type != b.type:
        wider = b.type in _WIDER_TYPES.get(a.type, set())
        add(COMPATIBLE if wider else BREAKING, w, f"type {a.type} -> {b.type}" + ("" if wider else "; values valid before may be rejected"))
    elif a.type == "enum":
        removed = [v for v in a.values or [] if v not in (b.values or [])]
        added = [v for v in b.values or [] if v not in (a.values or [])]
        if removed:
            add(BREAKING, w, f"enum value(s) removed: {', '.join(removed)}")
        if added:
            add(COMPATIBLE, w, f"enum value(s) added: {', '.join(added)}")
    if a.required != b.required:
        add(BREAKING if b.required else COMPATIBLE, w, "now required" if b.required else "now optional")
    if a.max_length != b.max_length:
        tighter = b.max_length is not None and (a.max_length is None or b.max_length < a.max_length)
        add(BREAKING if tighter else COMPATIBLE, w, f"max_length {_opt(a.max_length)} -> {_opt(b.max_length)}")
    if a.pattern != b.pattern:
        # Whether one regex accepts all another does is undecidable in general: any new or changed pattern may reject.
        add(COMPATIBLE if b.pattern is None else BREAKING, w, f"pattern {_opt(a.pattern)} -> {_opt(b.pattern)}")
    if a.pii != b.pii:
        add(BREAKING if a.pii else COMPATIBLE, w,
            "no longer personal data: its values will now be stored" if a.pii else "now personal data: its values will no longer be stored")


def _opt(value: object) -> str:
    return "none" if value is None else str(value)


def _form(a: Form, b: Form, where: str, add) -> None:
    if a.markup != b.markup:
        add(COMPATIBLE, f"{where}.markup", "the tag now carries the declarative helper" if b.markup
            else "the tag no longer carries the declarative helper; data-parcours-* markup is no longer watched")
    old_ids, new_ids = [s.id for s in a.steps], [s.id for s in b.steps]
    for i, step in enumerate(old_ids, start=1):
        if step not in new_ids:
            add(BREAKING, f"{where}.steps.{step}", "step removed; sites still sending it will be rejected")
        elif new_ids.index(step) + 1 != i:
            add(BREAKING, f"{where}.steps.{step}", f"step_index {i} -> {new_ids.index(step) + 1}; funnels across versions no longer line up")
    for i, step in enumerate(new_ids, start=1):
        if step not in old_ids:
            add(COMPATIBLE, f"{where}.steps.{step}", f"step added at position {i}")
    old_steps = {s.id: s for s in a.steps}
    for s in b.steps:
        if s.id in old_steps:
            if old_steps[s.id].optional != s.optional:
                add(COMPATIBLE, f"{where}.steps.{s.id}", "now optional: funnels count later steps without it"
                    if s.optional else "now required: funnels count later steps only after it")
            _properties(old_steps[s.id].properties, s.properties, f"{where}.steps.{s.id}", add)
    _properties(a.submit.properties, b.submit.properties, f"{where}.submit", add)


def _sites(old: Plan, new: Plan, add) -> None:
    before = {o.rstrip("/") for s in old.sites for o in s.origins}
    after = {o.rstrip("/") for s in new.sites for o in s.origins}
    if before and not after:
        add(COMPATIBLE, "sites", "no origin listed any more: every origin is accepted")
        return
    for origin in sorted(before - after):
        add(BREAKING, "sites", f"origin {origin} removed; its events will be refused")
    for origin in sorted(after - before):
        add(BREAKING if not before else COMPATIBLE, "sites", f"origin {origin} added" + ("; other origins are now refused" if not before else ""))


def _consent(old: Plan, new: Plan, add) -> None:
    if old.consent_mode != new.consent_mode:
        add(BREAKING, "consent", f"mode {old.consent_mode} -> {new.consent_mode}; what the tag sends before consent changes")
    for event in old.consent_exempt_events:
        if event not in new.consent_exempt_events:
            add(BREAKING, "consent.exempt_events", f"{event} no longer sent before consent")
    for event in new.consent_exempt_events:
        if event not in old.consent_exempt_events:
            add(COMPATIBLE, "consent.exempt_events", f"{event} now sent before consent")


def _capture(old: Plan, new: Plan, add) -> None:
    a, b = old.capture.broker, new.capture.broker
    if a and not b:
        add(BREAKING, "capture.broker", f"broker parameter {a.param} no longer captured")
    elif b and not a:
        add(COMPATIBLE, "capture.broker", f"broker parameter {b.param} captured")
    elif a and b:
        if a.param != b.param:
            add(BREAKING, "capture.broker.param", f"{a.param} -> {b.param}; links carrying ?{a.param}= lose their broker")
        if a.keep_days != b.keep_days:
            add(COMPATIBLE, "capture.broker.keep_days", f"{a.keep_days} -> {b.keep_days}")
    before = {p.name: p.keep_days for p in old.capture.params}
    after = {p.name: p.keep_days for p in new.capture.params}
    for name, days in before.items():
        if name not in after:
            add(BREAKING, f"capture.params.{name}", "no longer captured; attribution and lever rules lose it")
        elif after[name] != days:
            add(COMPATIBLE, f"capture.params.{name}", f"keep_days {days} -> {after[name]}")
    for name in after:
        if name not in before:
            add(COMPATIBLE, f"capture.params.{name}", "now captured")


def _brokers(old: Plan, new: Plan, add) -> None:
    before = {b.id: b for b in old.brokers} if isinstance(old.brokers, list) else {}
    after = {b.id: b for b in new.brokers} if isinstance(new.brokers, list) else {}
    for bid, b in before.items():
        if bid not in after:
            add(COMPATIBLE, f"brokers.{bid}", "broker removed; its events get no broker name")
        elif (b.name, b.lever) != (after[bid].name, after[bid].lever):
            add(COMPATIBLE, f"brokers.{bid}", f"{b.name} ({b.lever}) -> {after[bid].name} ({after[bid].lever})")
    for bid in after:
        if bid not in before:
            add(COMPATIBLE, f"brokers.{bid}", "broker added")


def _levers(old: Plan, new: Plan, add) -> None:
    before = old.levers.names if old.levers else []
    after = new.levers.names if new.levers else []
    for name in before:
        if name not in after:
            add(BREAKING, "levers.names", f"lever {name} removed; reports grouping by it lose it")
    for name in after:
        if name not in before:
            add(COMPATIBLE, "levers.names", f"lever {name} added")
    if (old.levers.rules if old.levers else []) != (new.levers.rules if new.levers else []):
        add(COMPATIBLE, "levers.rules", "rules changed; new events may get another lever")


def _identity(old: Plan, new: Plan, add) -> None:
    for key, spec in old.identity.items():
        if key not in new.identity:
            add(BREAKING, f"identity.{key}", "no longer an identity key")
        elif spec.region != new.identity[key].region:
            add(BREAKING, f"identity.{key}.region", f"{spec.region} -> {new.identity[key].region}; the same number may hash differently")
    for key in new.identity:
        if key not in old.identity:
            add(COMPATIBLE, f"identity.{key}", "new identity key")
