"""Walk a YAML document against the plan model and report every mistake, not just the first.

msgspec stops at the first error and names map keys `[...]`; a marketer needs every
mistake with its line, so the walk is ours and msgspec only builds the structs after.
`prune` then keeps the valid part of a document with mistakes, so that the cross-checks run
in the same pass: every mistake of every stage in one run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import msgspec.inspect as mi

from tagplan.errors import Problem
from tagplan.errors import problem as _p
from tagplan.messages import did_you_mean

Path = list  # list[str | int]: keys and indexes from the document root


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
            out += [Problem(path + [key], c, f'"{key}": {m}') for _, c, m in _scalar(key, t.key_type, path)]
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


_GONE = object()
"""What `prune` makes of a node that cannot be kept."""


@dataclass
class Pruned:
    """The valid part of a document, and what was taken out to get it."""

    doc: Any
    """The kept document (plain dicts and lists), or None when nothing valid remains at the root."""
    tainted: list[Path] = field(default_factory=list)
    """Paths, in the original document, of nodes removed and of mappings that lost a key: a check about
    them, or reading them, would judge what the author did not write."""
    _indexes: dict[int, list[int]] = field(default_factory=dict)

    def original(self, path: Path) -> Path:
        """The path in the original document of a path in the kept one (list items may have moved up)."""
        out: Path = []
        node = self.doc
        for part in path:
            if isinstance(part, int) and isinstance(node, list):
                indexes = self._indexes.get(id(node))
                out.append(indexes[part] if indexes and part < len(indexes) else part)
            else:
                out.append(part)
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                node = None
        return out


def prune(doc: Any, t: mi.Type) -> Pruned:
    """Keep what is valid in `doc`: unknown keys and bad values removed, then what needed them."""
    out = Pruned(None)
    kept = _keep(doc, t, [], out)
    out.doc = None if kept is _GONE else kept
    return out


def _keep(node: Any, t: mi.Type, path: Path, out: Pruned) -> Any:
    if isinstance(t, mi.UnionType):
        if node is None and any(isinstance(u, mi.NoneType) for u in t.types):
            return None
        for u in t.types:
            if not walk(node, u, path):
                return _keep(node, u, path, out)
        fits = [u for u in t.types if _shape_fits(node, u) and not isinstance(u, mi.NoneType)]
        return _keep(node, fits[0], path, out) if fits else _GONE
    if isinstance(t, mi.StructType):
        if not isinstance(node, dict):
            return _GONE
        kept: dict = {}
        for f in t.fields:
            if f.encode_name not in node:
                if f.required:
                    return _GONE
                continue
            value = _keep(node[f.encode_name], f.type, path + [f.encode_name], out)
            if value is _GONE:
                if f.required:
                    return _GONE
                # The mapping now reads as if the key were not written: it is tainted as a whole (a
                # property without its misspelt `type` is a string), but the root only by that key.
                out.tainted.append(path or [f.encode_name])
            else:
                kept[f.encode_name] = value
        # Unknown keys are left out without tainting: they meant nothing to the checks.
        return kept
    if isinstance(t, mi.DictType):
        if not isinstance(node, dict):
            return _GONE
        kept = {}
        for key, value in node.items():
            if _scalar(key, t.key_type, path):
                continue  # an invalid name: nothing valid can refer to it
            item = _keep(value, t.value_type, path + [key], out)
            if item is _GONE:
                out.tainted.append(path + [key])
            else:
                kept[key] = item
        return kept
    if isinstance(t, mi.ListType):
        if not isinstance(node, list):
            return _GONE
        items, indexes = [], []
        for i, value in enumerate(node):
            item = _keep(value, t.item_type, path + [i], out)
            if item is _GONE:
                if isinstance(value, (dict, list)):  # a bad scalar item declared nothing valid
                    out.tainted.append(path + [i])
            else:
                items.append(item)
                indexes.append(i)
        if t.min_length and len(items) < t.min_length:
            return _GONE
        if len(indexes) < len(node):
            out._indexes[id(items)] = indexes
        return items
    return _GONE if _scalar(node, t, path) else node
