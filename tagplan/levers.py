"""The plan's lever rules, compiled once: which acquisition lever a landing or an event gets.

The collector gives each event a lever from what it carries (broker ID, captured parameters, referrer,
page URL); attribution reports classify a session's landing with the same rules, so both agree.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from tagplan.model import BROKER_LEVER, Broker, Plan


class Facts:
    """What is known about one acquisition, for the lever rules; hosts are parsed only when a rule asks."""

    __slots__ = ("broker_id", "captured", "referrer", "page_url")

    def __init__(self, broker_id: str, captured: Mapping[str, str], referrer: str, page_url: str):
        self.broker_id, self.captured, self.referrer, self.page_url = broker_id, captured, referrer, page_url

    @property
    def referrer_host(self) -> str:
        return host(self.referrer) if self.referrer else ""


Condition = Callable[[Facts], bool]


@dataclass(frozen=True)
class LeverRules:
    """The rules in the plan's order, each as (conditions, lever); the first whose conditions all hold wins."""

    rules: tuple[tuple[tuple[Condition, ...], str], ...]
    brokers: Mapping[str, Broker]

    def lever(self, broker_id: str, captured: Mapping[str, str], referrer: str, page_url: str) -> str:
        """The lever of an acquisition ("" when no rule matches, or the broker's lever is unknown)."""
        facts = Facts(broker_id, captured, referrer, page_url)
        for conditions, lever in self.rules:
            if all(condition(facts) for condition in conditions):
                if lever == BROKER_LEVER:
                    broker = self.brokers.get(broker_id)
                    return broker.lever if broker else ""
                return lever
        return ""


def compile_levers(plan: Plan, brokers: Mapping[str, Broker]) -> LeverRules:
    """The plan's lever rules with their conditions compiled once (no rules: every lever is "")."""
    rules = plan.levers.rules if plan.levers else []
    return LeverRules(
        tuple((tuple(_condition(key, cond, brokers) for key, cond in rule.when.items()), rule.lever) for rule in rules),
        brokers,
    )


def _condition(key: str, cond: str | list[str], brokers: Mapping[str, Broker]) -> Condition:
    values = [cond] if isinstance(cond, str) else list(cond)
    if key == "broker_id":
        if values == ["known"]:
            return lambda f: f.broker_id in brokers
        return _present_or_in(values, lambda f: f.broker_id)
    if key == "click_id":
        return lambda f: any(f.captured.get(name) for name in values)
    if key == "referrer_domain":
        return lambda f: any(v in f.referrer_host.split(".") for v in values)
    if key == "referrer":
        kind = values[0]
        if kind == "external":
            return lambda f: bool(f.referrer_host) and f.referrer_host != host(f.page_url)
        if kind in ("present", "absent"):
            return lambda f: bool(f.referrer_host) == (kind == "present")
        return lambda f: False
    return _present_or_in(values, lambda f: f.captured.get(key, ""))


def _present_or_in(values: list[str], value: Callable[[Facts], str]) -> Condition:
    if values == ["present"]:
        return lambda f: bool(value(f))
    if values == ["absent"]:
        return lambda f: not value(f)
    wanted = frozenset(v.lower() for v in values)
    return lambda f: value(f).lower() in wanted


def shadows(earlier: Mapping[str, str | list[str]], later: Mapping[str, str | list[str]]) -> list[str] | None:
    """Whether a rule with conditions `earlier` matches every acquisition a later rule with `later` matches, so
    that the later one is never reached: each earlier condition is on a key the later rule tests too, and holds
    whenever the later one's does. The earlier conditions, each written `key: value`, or None."""
    if not all(key in later and _implies(key, later[key], cond) for key, cond in earlier.items()):
        return None
    return [f"{key}: {_written(cond)}" for key, cond in earlier.items()]


_WORDS = {"broker_id": ("known", "present", "absent"), "click_id": (), "referrer_domain": ()}
"""The words a condition key reads as words, when alone (_condition); a captured parameter's: present, absent."""


def _implies(key: str, given: str | list[str], wanted: str | list[str]) -> bool:
    """Whether condition `wanted` on `key` holds whenever `given` does (as _condition reads them)."""
    a, b = _read(key, given), _read(key, wanted)
    if a == b:
        return True
    if b == "present":  # a broker in the table, values listed, another site's referrer: all something present
        return a == "known" or a == "external" or (isinstance(a, frozenset) and "" not in a)
    # Any of a few listed values (click IDs, referrer labels, IDs or parameter values) is any of more.
    return isinstance(a, frozenset) and isinstance(b, frozenset) and a <= b


def _read(key: str, cond: str | list[str]) -> str | frozenset[str]:
    """A condition as _condition reads it: a word (known, present, absent, external) or the values compared."""
    values = [cond] if isinstance(cond, str) else list(cond)
    if key == "referrer":
        return values[0] if values else ""
    if len(values) == 1 and values[0] in _WORDS.get(key, ("present", "absent")):
        return values[0]
    if key in ("click_id", "referrer_domain"):
        return frozenset(values)
    return frozenset(v.lower() for v in values)


def _written(cond: str | list[str]) -> str:
    return cond if isinstance(cond, str) else f"[{', '.join(cond)}]"


@functools.lru_cache(maxsize=8192)  # a visitor's events repeat their page and referrer: ~4 us each saved
def host(url: str) -> str:
    """The host name of a URL, "" when it has none or is malformed."""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:  # an unbalanced "[" in the netloc
        return ""
