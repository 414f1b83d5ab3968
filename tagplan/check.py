"""Walk a YAML document against the plan model and report every mistake, not just the first.

msgspec stops at the first error and names map keys `[...]`; a marketer needs every
mistake with its line, so the walk is ours and msgspec only builds the structs after.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec.inspect as mi

from tagplan.errors import did_you_mean

Path = list  # list[str | int]: keys and indexes from the document root
Problem = tuple[Path, str]


def walk(node: Any, t: mi.Type, path: Path) -> list[Problem]:
    """Every problem of `node` against type `t`, each with its path."""
    if isinstance(t, mi.UnionType):
        return _union(node, t, path)
    if isinstance(t, mi.StructType):
        return _struct(node, t, path)
    if isinstance(t, mi.DictType):
        if not isinstance(node, dict):
            return [(path, f"expected a mapping of keys, got {_kind(node)}")]
        out: list[Problem] = []
        for key, value in node.items():
            out += [(path + [key], f'"{key}": {m}') for _, m in _scalar(key, t.key_type, path)]
            out += walk(value, t.value_type, path + [key])
        return out
    if isinstance(t, mi.ListType):
        if not isinstance(node, list):
            return [(path, f"expected a list, got {_kind(node)}")]
        out = []
        if t.min_length and len(node) < t.min_length:
            out.append((path, f"expected at least {t.min_length} item(s)"))
        for i, item in enumerate(node):
            out += walk(item, t.item_type, path + [i])
        return out
    return _scalar(node, t, path)


def _struct(node: Any, t: mi.StructType, path: Path) -> list[Problem]:
    if not isinstance(node, dict):
        return [(path, f"expected a mapping of keys, got {_kind(node)}")]
    fields = {f.encode_name: f for f in t.fields}
    out: list[Problem] = []
    for key in node:
        if key not in fields:
            out.append((path + [key], f'unknown key "{key}"{did_you_mean(str(key), fields)}, expected one of: {", ".join(fields)}'))
    for name, f in fields.items():
        if name in node:
            out += walk(node[name], f.type, path + [name])
        elif f.required:
            out.append((path, f'missing required key "{name}"'))
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
    return best or [(path, "unexpected value")]


def _shape_fits(node: Any, t: mi.Type) -> bool:
    if isinstance(node, dict):
        return isinstance(t, (mi.StructType, mi.DictType))
    if isinstance(node, list):
        return isinstance(t, mi.ListType)
    return not isinstance(t, (mi.StructType, mi.DictType, mi.ListType))


def _scalar(node: Any, t: mi.Type, path: Path) -> list[Problem]:
    if isinstance(t, mi.StrType):
        if not isinstance(node, str):
            return [(path, f"expected text, got {_kind(node)}")]
        if t.min_length and len(node) < t.min_length:
            return [(path, "expected a non-empty text")]
        if t.max_length and len(node) > t.max_length:
            return [(path, f"expected at most {t.max_length} characters")]
        if t.pattern and not re.search(t.pattern, node):
            return [(path, f'"{node}" is not a valid name, expected lower-case letters, digits and _ (matching {t.pattern})')]
        return []
    if isinstance(t, mi.IntType):
        if not isinstance(node, int) or isinstance(node, bool):
            return [(path, f"expected a whole number, got {_kind(node)}")]
        if t.ge is not None and node < t.ge:
            return [(path, f"expected a number >= {t.ge}, got {node}")]
        if t.le is not None and node > t.le:
            return [(path, f"expected a number <= {t.le}, got {node}")]
        return []
    if isinstance(t, mi.BoolType):
        return [] if isinstance(node, bool) else [(path, f"expected true or false, got {_kind(node)}")]
    if isinstance(t, mi.LiteralType):
        if node in t.values:
            return []
        return [(path, f'"{node}" is not allowed{did_you_mean(str(node), t.values)}, expected one of: {", ".join(map(str, t.values))}')]
    if isinstance(t, mi.NoneType):
        return [] if node is None else [(path, f"expected nothing, got {_kind(node)}")]
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
