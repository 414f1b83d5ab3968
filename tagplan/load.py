"""Read a plan file: YAML with line numbers, the typed model, the cross-checks; every mistake placed at its line."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import msgspec
import msgspec.inspect as mi
from ruamel.yaml import YAML
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from tagplan.check import prune, walk
from tagplan.crosscheck import AT_KEY, READS, cross_check
from tagplan.errors import PlanError, PlanErrors
from tagplan.messages import check as say
from tagplan.model import Broker, Plan

_PLAN_TYPE = mi.type_info(Plan)


def load_plan(path: str | Path) -> Plan:
    """Load and check a plan; raise PlanErrors listing every mistake found, of every stage, at once."""
    path = Path(path)
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanErrors([_error(name, 1, 1, "unreadable", reason=_reason(exc))]) from None
    doc, errors = _parse(name, text)
    if not isinstance(doc, dict):
        raise PlanErrors(errors or [_error(name, 1, 1, "not_a_mapping_doc")])
    shape = walk(doc, _PLAN_TYPE, [])
    for parts, code, message in shape:
        line, col = node_position(doc, parts, at_key=code == "unknown_key")
        errors.append(PlanError(name, line, col, message, code))
    # The cross-checks run on the valid part, so that one run lists the mistakes of both stages.
    # No check reads the version: a missing or bad one must not hide the rest.
    pruned = prune({**doc, "version": str(doc.get("version", ""))} if shape else doc, _PLAN_TYPE)
    if pruned.doc is None:
        raise PlanErrors(errors)
    plan = msgspec.convert(_plain(pruned.doc), Plan, strict=True)
    csv_rows: list[tuple[str, int, int]] | None = None
    if isinstance(plan.brokers, str):
        brokers, csv_rows, csv_errors = _read_brokers_csv(path.parent / plan.brokers)
        errors += csv_errors
        plan = msgspec.structs.replace(plan, brokers=brokers)
    for problem in cross_check(plan):
        where = pruned.original(problem.path)
        if _about_removed(problem.code, where, pruned.tainted):
            continue
        if csv_rows is not None and where[:1] == ["brokers"] and len(where) > 1:
            file, line, col = csv_rows[int(where[1])]
        else:
            file, (line, col) = name, node_position(doc, where, at_key=problem.code in AT_KEY)
        errors.append(PlanError(file, line, col, problem.message, problem.code))
    if errors:
        raise PlanErrors(errors)
    return plan


def _about_removed(code: str, path: list[str | int], tainted: list[list[str | int]]) -> bool:
    """Whether a cross-check problem lies in, or reads, a part of the plan taken out as invalid.

    It would follow from a mistake already reported: it is left out, and shows on the next run if it holds.
    """
    reads = [list(r) for r in READS.get(code, ())]
    return any(_under(path, t) or any(_under(t, r) or _under(r, t) for r in reads) for t in tainted)


def _under(path: list, prefix: list) -> bool:
    return path[:len(prefix)] == prefix


def _plain(value: Any) -> Any:
    """The document with ruamel's scalar types (a folded `>` string, 1.5 or 0x10 are subclasses) as plain Python
    ones, so that the Plan encodes as JSON like any other (the reader process receives it so)."""
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    return value


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


def _read_brokers_csv(path: Path) -> tuple[list[Broker], list[tuple[str, int, int]], list[PlanError]]:
    """The broker table from CSV, each broker's place in the file, and each bad row reported at its line."""
    file = str(path)
    brokers: list[Broker] = []
    rows: list[tuple[str, int, int]] = []
    errors: list[PlanError] = []
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh, skipinitialspace=True)
            header = [h.strip() for h in reader.fieldnames or []]
            reader.fieldnames = header
            missing = {"id", "name", "lever"} - set(header)
            if missing:
                errors.append(_error(file, 1, 1, "csv_missing_columns", columns=", ".join(sorted(missing))))
                return [], [], errors
            for row in reader:
                line = reader.line_num
                if None in row or None in row.values() or not (row["id"] or "").strip() or not (row["lever"] or "").strip():
                    errors.append(_error(file, line, 1, "csv_bad_row"))
                    continue
                brokers.append(Broker(id=row["id"].strip(), name=row["name"].strip(), lever=row["lever"].strip()))
                rows.append((file, line, 1))
    except (OSError, UnicodeDecodeError) as exc:
        errors.append(_error(file, 1, 1, "unreadable_csv", reason=_reason(exc)))
    except csv.Error as exc:
        errors.append(_error(file, reader.line_num or 1, 1, "unreadable_csv", reason=str(exc)))
    return brokers, rows, errors
