"""Read a plan file: YAML with line numbers, then the typed model, then cross-checks."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import msgspec
import msgspec.inspect as mi
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError

from tagplan.check import walk
from tagplan.errors import PlanError, PlanErrors, did_you_mean
from tagplan.model import BUILTIN_EVENTS, Broker, Plan

def load_plan(path: str | Path) -> Plan:
    """Load and check a plan; raise PlanErrors listing every mistake found."""
    path = Path(path)
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanErrors([PlanError(name, 1, 1, f"cannot read the plan: {exc.strerror}")]) from None
    try:
        doc = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise PlanErrors([PlanError(name, line, col, f"invalid YAML: {exc.problem or exc.context}")]) from None
    if not isinstance(doc, dict):
        raise PlanErrors([PlanError(name, 1, 1, "the plan must be a mapping of keys (version, events, forms, ...)")])
    problems = walk(doc, mi.type_info(Plan), [])
    if problems:
        raise PlanErrors([
            PlanError(name, *_node_position(doc, parts, at_key=message.startswith("unknown key")), message)
            for parts, message in problems
        ])
    plan = msgspec.convert(doc, Plan, strict=True)
    errors: list[PlanError] = []
    if isinstance(plan.brokers, str):
        brokers = _read_brokers_csv(path.parent / plan.brokers, errors)
        plan = msgspec.structs.replace(plan, brokers=brokers)
    errors += _cross_check(name, doc, plan)
    if errors:
        raise PlanErrors(errors)
    return plan


def _node_position(doc: Any, parts: list[str | int], at_key: bool = False) -> tuple[int, int]:
    """Line and column (1-based) of the deepest YAML node the path reaches.

    A scalar value is pointed at itself (`consent: exemt` at "exemt"), unless `at_key`.
    """
    node, line, col = doc, 0, 0
    for i, part in enumerate(parts):
        lc = getattr(node, "lc", None)
        try:
            if isinstance(part, int):
                pos = lc.item(part) if lc else None
            else:
                last_scalar = i == len(parts) - 1 and not at_key and not isinstance(node[part], (dict, list))
                pos = (lc.value(part) if last_scalar else lc.key(part)) if lc else None
            node = node[part]
        except (KeyError, IndexError, TypeError, AttributeError):
            break
        if pos:
            line, col = pos
    return line + 1, col + 1


def _read_brokers_csv(path: Path, errors: list[PlanError]) -> list[Broker]:
    brokers: list[Broker] = []
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = {"id", "name", "lever"} - set(reader.fieldnames or [])
            if missing:
                errors.append(PlanError(str(path), 1, 1, f"missing column(s) {', '.join(sorted(missing))}; expected a header id,name,lever"))
                return []
            for row in reader:
                line = reader.line_num
                if not row.get("id") or not row.get("lever") or None in row.values():
                    errors.append(PlanError(str(path), line, 1, "expected 3 fields: id,name,lever"))
                    continue
                brokers.append(Broker(id=row["id"].strip(), name=row["name"].strip(), lever=row["lever"].strip()))
    except OSError as exc:
        errors.append(PlanError(str(path), 1, 1, f"cannot read the broker table: {exc.strerror}"))
    return brokers


def _cross_check(name: str, doc: Any, plan: Plan) -> list[PlanError]:
    """Rules that span several parts of the plan."""
    errors: list[PlanError] = []

    def err(parts: list[str | int], message: str) -> None:
        line, col = _node_position(doc, parts)
        errors.append(PlanError(name, line, col, message))

    for event in plan.events:
        if event in BUILTIN_EVENTS:
            err(["events", event], f'event "{event}" is built into the tag; declare only custom events')
    step_owner: dict[str, str] = {}
    for form_id, form in plan.forms.items():
        seen: set[str] = set()
        for i, step in enumerate(form.steps):
            if step.id in seen:
                err(["forms", form_id, "steps", i], f'form "{form_id}": step "{step.id}" is listed twice')
            seen.add(step.id)
            if step.id in step_owner and step_owner[step.id] != form_id:
                err(["forms", form_id, "steps", i], f'form "{form_id}": step "{step.id}" is already used by form "{step_owner[step.id]}"')
            step_owner.setdefault(step.id, form_id)
    properties = [(["events", e, "properties", p], prop) for e, ev in plan.events.items() for p, prop in ev.properties.items()]
    properties += [(["forms", f, "submit", "properties", p], prop) for f, fm in plan.forms.items() for p, prop in fm.submit.properties.items()]
    for parts, prop in properties:
        if prop.pattern is not None:
            try:
                re.compile(prop.pattern)
            except re.error as exc:
                err(parts + ["pattern"], f'property "{parts[-1]}": invalid pattern: {exc.msg}')
        if prop.type == "enum" and not prop.values:
            err(parts, f'property "{parts[-1]}": type enum needs a list of values')
    levers = set(plan.levers.names) if plan.levers else set()
    if plan.levers:
        for i, rule in enumerate(plan.levers.rules):
            if rule.lever != "broker_lever" and rule.lever not in levers:
                err(["levers", "rules", i], f'lever "{rule.lever}" is not declared in levers.names{did_you_mean(rule.lever, levers)}')
    seen_brokers: set[str] = set()
    for i, broker in enumerate(plan.brokers if isinstance(plan.brokers, list) else []):
        where = ["brokers", i] if isinstance(doc.get("brokers"), list) else ["brokers"]
        if broker.id in seen_brokers:
            err(where, f'broker "{broker.id}" is listed twice')
        seen_brokers.add(broker.id)
        if broker.lever not in levers:
            err(where, f'broker "{broker.id}": lever "{broker.lever}" is not declared in levers.names{did_you_mean(broker.lever, levers)}')
    return errors
