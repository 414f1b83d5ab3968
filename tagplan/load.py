"""Read a plan file: YAML with line numbers, then the typed model, then cross-checks."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import msgspec.inspect as mi
from ruamel.yaml import YAML
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from tagplan import crosscheck
from tagplan.check import walk
from tagplan.errors import PlanError, PlanErrors
from tagplan.messages import check as say
from tagplan.model import Broker, Plan

_PLAN_TYPE = mi.type_info(Plan)


def load_plan(path: str | Path) -> Plan:
    """Load and check a plan; raise PlanErrors listing every mistake found."""
    path = Path(path)
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanErrors([_error(name, 1, 1, "unreadable", reason=_reason(exc))]) from None
    doc, errors = _parse(name, text)
    if not isinstance(doc, dict):
        raise PlanErrors(errors or [_error(name, 1, 1, "not_a_mapping_doc")])
    for parts, code, message in walk(doc, _PLAN_TYPE, []):
        line, col = node_position(doc, parts, at_key=code == "unknown_key")
        errors.append(PlanError(name, line, col, message, code))
    if errors:
        raise PlanErrors(errors)
    plan = msgspec.convert(doc, Plan, strict=True)
    report = Report(name, doc)
    if isinstance(plan.brokers, str):
        brokers = _read_brokers_csv(path.parent / plan.brokers, report)
        plan = msgspec.structs.replace(plan, brokers=brokers)
    elif isinstance(doc.get("brokers"), list):
        report.broker_positions = [(name, *node_position(doc, ["brokers", i])) for i in range(len(plan.brokers))]
    crosscheck.cross_check(plan, report)
    if report.errors:
        raise PlanErrors(report.errors)
    return plan


def plan_files(path: str | Path) -> list[Path]:
    """The plan file and the side files it names (the broker CSV), for watchers."""
    path = Path(path)
    files = [path]
    try:
        doc = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except Exception:  # a broken plan is still watched: its own file is enough
        return files
    if isinstance(doc, dict) and isinstance(doc.get("brokers"), str):
        files.append(path.parent / doc["brokers"])
    return files


@dataclass
class Report:
    """Collects cross-check errors, positioned in the YAML or in the broker CSV."""

    file: str
    doc: Any
    errors: list[PlanError] = field(default_factory=list)
    broker_positions: list[tuple[str, int, int]] = field(default_factory=list)

    def at(self, parts: list[str | int], code: str, at_key: bool = False, **fields: object) -> None:
        line, col = node_position(self.doc, parts, at_key)
        self.errors.append(_error(self.file, line, col, code, **fields))

    def at_broker(self, index: int, code: str, **fields: object) -> None:
        if index < len(self.broker_positions):
            self.errors.append(_error(*self.broker_positions[index], code, **fields))
        else:
            self.at(["brokers"], code, **fields)


def _error(file: str, line: int, col: int, code: str, **fields: object) -> PlanError:
    return PlanError(file, line, col, say(code, **fields), code)


def _reason(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "it is not UTF-8 text"
    return getattr(exc, "strerror", None) or str(exc)


def _parse(name: str, text: str) -> tuple[Any, list[PlanError]]:
    """The YAML document, and every key written twice (ruamel stops at the first)."""
    try:
        try:
            return YAML(typ="rt").load(text), []
        except DuplicateKeyError:
            # Rare, so the second parse (to list them all) is paid only then.
            yaml = YAML(typ="rt")
            yaml.allow_duplicate_keys = True
            return yaml.load(text), _duplicate_keys(name, YAML(typ="rt").compose(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return None, [_error(name, line, col, "invalid_yaml", reason=exc.problem or exc.context)]


def _duplicate_keys(name: str, node: Node) -> list[PlanError]:
    out: list[PlanError] = []
    if isinstance(node, MappingNode):
        first: dict[Any, int] = {}
        for key, value in node.value:
            k = key.value if not isinstance(key.value, list) else id(key)
            if k in first:
                out.append(_error(name, key.start_mark.line + 1, key.start_mark.column + 1, "duplicate_key", key=k, first=first[k]))
            else:
                first[k] = key.start_mark.line + 1
            out += _duplicate_keys(name, value)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            out += _duplicate_keys(name, item)
    return out


def node_position(doc: Any, parts: list[str | int], at_key: bool = False) -> tuple[int, int]:
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


def _read_brokers_csv(path: Path, report: Report) -> list[Broker]:
    """The broker table from CSV; each bad row is reported at its line of the CSV file."""
    file = str(path)
    brokers: list[Broker] = []
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh, skipinitialspace=True)
            header = [h.strip() for h in reader.fieldnames or []]
            reader.fieldnames = header
            missing = {"id", "name", "lever"} - set(header)
            if missing:
                report.errors.append(_error(file, 1, 1, "csv_missing_columns", columns=", ".join(sorted(missing))))
                return []
            for row in reader:
                line = reader.line_num
                if None in row or None in row.values() or not (row["id"] or "").strip() or not (row["lever"] or "").strip():
                    report.errors.append(_error(file, line, 1, "csv_bad_row"))
                    continue
                brokers.append(Broker(id=row["id"].strip(), name=row["name"].strip(), lever=row["lever"].strip()))
                report.broker_positions.append((file, line, 1))
    except (OSError, UnicodeDecodeError) as exc:
        report.errors.append(_error(file, 1, 1, "unreadable_csv", reason=_reason(exc)))
    except csv.Error as exc:
        report.errors.append(_error(file, reader.line_num or 1, 1, "unreadable_csv", reason=str(exc)))
    return brokers
