"""Walk a YAML document against the plan model and report every mistake, not just the first.

msgspec stops at the first error and names map keys `[...]`; a marketer needs every
mistake with its line, so the walk is ours and msgspec only builds the structs after.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec.inspect as mi

from tagplan.messages import check as say
from tagplan.messages import did_you_mean

Path = list  # list[str | int]: keys and indexes from the document root
Problem = tuple[Path, str, str]
"""Where (path from the root), which message (its code in tagplan.messages.CHECK), the message."""


def _p(path: Path, code: str, **fields: object) -> Problem:
    return (path, code, say(code, **fields))


def walk(node: Any, t: mi.Type, path: Path) -> list[Problem]:
    """Every problem of `node` against type `t`, each with its path."""
    if isinstance(t, mi.UnionType):
        return _union(node, t, path)
    if isinstance(t, mi.StructType):
        return _struct(node, t, path)
    if isinstance(t, mi.DictType):
        if not isinstance(node, dict):
            return [_p(path, "expected_mapping", got=_kind(node))]
        out: list[Problem] = []
        for key, value in node.items():
            out += [(path + [key], c, f'"{key}": {m}') for _, c, m in _scalar(key, t.key_type, path)]
            out += walk(value, t.value_type, path + [key])
        return out
    if isinstance(t, mi.ListType):
        if not isinstance(node, list):
            return [_p(path, "expected_list", got=_kind(node))]
        out = []
        if t.min_length and len(node) < t.min_length:
            out.append(_p(path, "too_few_items", n=t.min_length))
        for i, item in enumerate(node):
            out += walk(item, t.item_type, path + [i])
        return out
    return _scalar(node, t, path)


def _struct(node: Any, t: mi.StructType, path: Path) -> list[Problem]:
    if not isinstance(node, dict):
        return [_p(path, "expected_mapping", got=_kind(node))]
    fields = {f.encode_name: f for f in t.fields}
    out: list[Problem] = []
    for key in node:
        if key not in fields:
            out.append(_p(path + [key], "unknown_key", key=key, hint=did_you_mean(str(key), fields), expected=", ".join(fields)))
    for name, f in fields.items():
        if name in node:
            out += walk(node[name], f.type, path + [name])
        elif f.required:
            out.append(_p(path, "missing_key", key=name))
    return out


def _union(node: Any, t: mi.UnionType, path: Path) -> list[Problem]:
    types = [u for u in t.types if not isinstance(u, mi.NoneType)]
    if node is None and len(types) < len(t.types):
        return []
    best: list[Problem] | None = None
    for u in types:
        problems = walk(node, u, path)
        if not problems:
            return []
        # Prefer the branch whose shape matches the node, so its message is the useful one.
        if best is None or _shape_fits(node, u):
            best = problems
    return best or [_p(path, "unexpected_value")]


def _shape_fits(node: Any, t: mi.Type) -> bool:
    if isinstance(node, dict):
        return isinstance(t, (mi.StructType, mi.DictType))
    if isinstance(node, list):
        return isinstance(t, mi.ListType)
    return not isinstance(t, (mi.StructType, mi.DictType, mi.ListType))


def _scalar(node: Any, t: mi.Type, path: Path) -> list[Problem]:
    if isinstance(t, mi.StrType):
        if not isinstance(node, str):
            return [_p(path, "expected_text", got=_kind(node))]
        if t.min_length and len(node) < t.min_length:
            return [_p(path, "empty_text")]
        if t.max_length and len(node) > t.max_length:
            return [_p(path, "text_too_long", n=t.max_length)]
        if t.pattern and not re.search(t.pattern, node):
            return [_p(path, "bad_name", value=node, pattern=t.pattern)]
        return []
    if isinstance(t, mi.IntType):
        if not isinstance(node, int) or isinstance(node, bool):
            return [_p(path, "expected_integer", got=_kind(node))]
        if t.ge is not None and node < t.ge:
            return [_p(path, "integer_too_small", n=t.ge, got=node)]
        if t.le is not None and node > t.le:
            return [_p(path, "integer_too_large", n=t.le, got=node)]
        return []
    if isinstance(t, mi.BoolType):
        return [] if isinstance(node, bool) else [_p(path, "expected_boolean", got=_kind(node))]
    if isinstance(t, mi.LiteralType):
        if node in t.values:
            return []
        return [_p(path, "not_allowed", value=node, hint=did_you_mean(str(node), map(str, t.values)), expected=", ".join(map(str, t.values)))]
    if isinstance(t, mi.NoneType):
        return [] if node is None else [_p(path, "expected_nothing", got=_kind(node))]
    return []


def _kind(node: Any) -> str:
    if node is None:
        return "nothing"
    if isinstance(node, bool):
        return "true/false"
    if isinstance(node, (int, float)):
        return f"the number {node}"
    if isinstance(node, str):
        return f'the text "{node}"'
    if isinstance(node, list):
        return "a list"
    if isinstance(node, dict):
        return "a mapping"
    return "a value"
