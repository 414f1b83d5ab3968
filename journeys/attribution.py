"""Attribution: seven models, each a small pure function over a table of paths.

The input is ChannelAttribution's shape: one row per path, the channels touched in time order (a lever, or a
lever and a campaign or broker), the conversions that ended it, their value (revenue), the persons who
followed it without converting (`nulls`, for the Markov model), and each touch's age in days before its
conversion (for time decay). The output is a table of channels: the conversions and revenue each earns.
A model gives every touch of a converting path a weight; a path's weights add up to 1, and the same
weights share its conversions and its revenue.

- first_touch, last_touch: the first or last touch gets 1.
- last_non_direct: the last touch whose lever is not `direct` gets 1; a path of direct touches only, its last.
- linear: 1/n each.
- position_based: one touch 1; two 0.5 each; otherwise 0.4 to the first and to the last, 0.2/(n-2) to each
  touch between.
- time_decay: 2^(-age / half-life), normalised per path (half-life 7 days by default).
- markov: a first-order Markov chain over the paths with consecutive repeats collapsed, from a start state
  to an absorbing conversion or null state, non-converting paths included. A channel's removal effect is
  1 - P(conversion without it) / P(conversion), computed exactly by solving the absorbing chain (removing
  a channel sends the transitions into it to null); each channel earns the conversions and revenue in
  proportion to its removal effect (`markov`), or, for a breakdown by group, each path's conversions are
  shared among its channels in proportion to their removal effects (`touch_weights`).

Paths without any touch (a conversion no touch preceded) are not attributed: they appear in no model.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np

MODELS = ("first_touch", "last_touch", "last_non_direct", "linear", "position_based", "time_decay", "markov")
DIRECT = "direct"

Channel = Hashable
"""A lever ("display"), or a tuple whose first element is the lever (("display", "spring-campaign"))."""


@dataclass(frozen=True)
class PathTable:
    """The paths, columnar: every touch of every path in one flat array, in path then time order."""

    channels: list[Channel]
    """The distinct channels; touches hold indexes into this list."""
    touch_channel: np.ndarray
    touch_path: np.ndarray
    """For each touch, the row of its path."""
    touch_position: np.ndarray
    """For each touch, its 0-based position in its path."""
    touch_age: np.ndarray
    """For each touch, days from it to the conversion."""
    length: np.ndarray
    conversions: np.ndarray
    value: np.ndarray
    nulls: np.ndarray

    @property
    def touch_length(self) -> np.ndarray:
        return self.length[self.touch_path]


def path_table(rows: Iterable[tuple[Sequence[Channel], float, float, float] |
                              tuple[Sequence[Channel], float, float, float, Sequence[float]]]) -> PathTable:
    """A PathTable from rows (channels, conversions, value, nulls[, ages in days]); ages default to 0.

    Built column by column (a hundred thousand paths in a few hundredths of a second): channels are coded in
    the order they first appear."""
    rows = list(rows)
    paths = [row[0] for row in rows]
    length = np.fromiter(map(len, paths), dtype=np.int64, count=len(rows))
    touches = list(chain.from_iterable(paths))
    channels = list(dict.fromkeys(touches))
    code = {channel: i for i, channel in enumerate(channels)}
    starts = np.cumsum(length) - length
    touch_path = np.repeat(np.arange(len(rows), dtype=np.int64), length)
    ages = [row[4] if len(row) > 4 else () for row in rows]
    return PathTable(channels, np.fromiter(map(code.__getitem__, touches), dtype=np.int64, count=len(touches)),
                     touch_path, np.arange(len(touches), dtype=np.int64) - starts[touch_path],
                     np.fromiter(chain.from_iterable(map(_ages, ages, length)), dtype=np.float64, count=len(touches)),
                     length, np.array([float(row[1]) for row in rows]), np.array([float(row[2]) for row in rows]),
                     np.array([float(row[3]) for row in rows]))


def _ages(ages: Sequence[float], length: int) -> Sequence[float]:
    """A path's ages, one per touch: those given, 0 for the touches past them."""
    return ages if len(ages) == length else [*ages[:length], *[0.0] * (length - len(ages))]


def first_touch(t: PathTable) -> np.ndarray:
    """Per touch: 1 for the first of its path."""
    return (t.touch_position == 0).astype(float)


def last_touch(t: PathTable) -> np.ndarray:
    """Per touch: 1 for the last of its path."""
    return (t.touch_position == t.touch_length - 1).astype(float)


def last_non_direct(t: PathTable) -> np.ndarray:
    """Per touch: 1 for the last whose lever is not direct; a path of direct touches only gives its last 1."""
    direct = np.array([_lever(c) == DIRECT for c in t.channels], dtype=bool)[t.touch_channel] \
        if t.channels else np.zeros(0, dtype=bool)
    chosen = np.full(len(t.length), -1, dtype=np.int64)
    np.maximum.at(chosen, t.touch_path, np.where(direct, -1, t.touch_position))
    chosen = np.where(chosen < 0, t.length - 1, chosen)
    return (t.touch_position == chosen[t.touch_path]).astype(float)


def linear(t: PathTable) -> np.ndarray:
    """Per touch: 1/n."""
    return 1.0 / t.touch_length


def position_based(t: PathTable) -> np.ndarray:
    """Per touch: 1 alone; 0.5 of two; else 0.4 first and last, 0.2/(n-2) between."""
    n = t.touch_length
    ends = (t.touch_position == 0) | (t.touch_position == n - 1)
    middle = 0.2 / np.maximum(n - 2, 1)
    return np.select([n == 1, n == 2, ends], [1.0, 0.5, 0.4], middle)


def time_decay(t: PathTable, half_life_days: float = 7.0) -> np.ndarray:
    """Per touch: 2^(-age / half-life), normalised so that each path's weights add up to 1."""
    raw = np.exp2(-t.touch_age / half_life_days)
    return raw / np.bincount(t.touch_path, raw, minlength=len(t.length))[t.touch_path]


def removal_effects(t: PathTable) -> np.ndarray:
    """Per channel: 1 - P(conversion with the channel removed) / P(conversion), exactly (absorbing chain)."""
    c = len(t.channels)
    if c == 0:
        return np.zeros(0)
    # Consecutive repeats collapsed: a touch is a new state when it starts its path or changes channel.
    keep = np.ones(len(t.touch_channel), dtype=bool)
    keep[1:] = (t.touch_position[1:] == 0) | (t.touch_channel[1:] != t.touch_channel[:-1])
    channel, path = t.touch_channel[keep], t.touch_path[keep]
    followed = t.conversions[path] + t.nulls[path]  # persons through each step of the path
    start, conv, null = c, c + 1, c + 2  # states: channels, then start, conversion, null
    counts = np.zeros((c + 1, c + 3))
    first = np.ones(len(channel), dtype=bool)
    first[1:] = path[1:] != path[:-1]
    last = np.ones(len(channel), dtype=bool)
    last[:-1] = path[:-1] != path[1:]
    np.add.at(counts, (np.where(first, start, np.roll(channel, 1)), channel), followed)
    np.add.at(counts, (channel[last], np.full(last.sum(), conv)), t.conversions[path[last]])
    np.add.at(counts, (channel[last], np.full(last.sum(), null)), t.nulls[path[last]])
    totals = counts.sum(axis=1, keepdims=True)
    p = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    q, to_conv = p[:, :c + 1], p[:, conv]
    base = _conversion_probability(q, to_conv, start)
    if base <= 0:
        return np.zeros(c)
    effects = np.empty(c)
    for k in range(c):
        removed = q.copy()
        removed[:, k] = 0.0  # into the removed channel: to null instead
        effects[k] = 1.0 - _conversion_probability(removed, to_conv, start) / base
    return np.clip(effects, 0.0, 1.0)


def _conversion_probability(q: np.ndarray, to_conv: np.ndarray, start: int) -> float:
    """P(absorbed in conversion | start): x = Q x + r, solved exactly."""
    x = np.linalg.solve(np.eye(len(q)) - q, to_conv)
    return float(x[start])


def markov_shares(t: PathTable) -> np.ndarray:
    """Per channel: its share of all conversions, proportional to its removal effect."""
    effects = removal_effects(t)
    total = effects.sum()
    return effects / total if total > 0 else effects


def touch_weights(t: PathTable, model: str, half_life_days: float = 7.0,
                  removal: np.ndarray | None = None) -> np.ndarray:
    """Per touch, the share of its path's conversions (and revenue) the model gives it. `removal`: the
    channels' removal effects computed on wider paths than t's (markov), else t's own."""
    if model == "markov":
        # A path's conversions shared among its touches in proportion to their channels' removal effects
        # (a channel touched twice in a path shares its part between its touches).
        effects = (removal_effects(t) if removal is None else removal)[t.touch_channel]
        totals = np.bincount(t.touch_path, effects, minlength=len(t.length))[t.touch_path]
        return np.divide(effects, totals, out=np.zeros_like(effects), where=totals > 0)
    if model == "time_decay":
        return time_decay(t, half_life_days)
    return _HEURISTICS[model](t)


def attribute(t: PathTable, model: str, half_life_days: float = 7.0) -> dict[Channel, tuple[float, float]]:
    """Per channel: (conversions, revenue) under the model; every channel of the table, in its order."""
    conv, val = attribute_groups(t, model, np.zeros(len(t.length), dtype=np.int64), 1, half_life_days)
    return {ch: (float(conv[i, 0]), float(val[i, 0])) for i, ch in enumerate(t.channels)}


def attribute_groups(t: PathTable, model: str, group: np.ndarray, groups: int, half_life_days: float = 7.0,
                     markov_per_path: bool = False, removal: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(conversions, revenue), each an array [channel, group], for paths that belong to groups (online and
    offline sales, the point of sale that signed...). Markov gives each group's conversions the channels'
    shares of all conversions, or with markov_per_path shares each path's among its own channels, by their
    removal effects (`removal`, per channel of t, when computed on more paths than t's)."""
    c = len(t.channels)
    attributed = (t.length > 0).astype(float)
    if model == "markov" and not markov_per_path:
        shares = markov_shares(t)
        conv_total = np.bincount(group, t.conversions * attributed, minlength=groups)
        val_total = np.bincount(group, t.value * attributed, minlength=groups)
        return np.outer(shares, conv_total), np.outer(shares, val_total)
    w = touch_weights(t, model, half_life_days, removal)
    cell = t.touch_channel * groups + group[t.touch_path]
    conv = np.bincount(cell, w * t.conversions[t.touch_path], minlength=c * groups).reshape(c, groups)
    val = np.bincount(cell, w * t.value[t.touch_path], minlength=c * groups).reshape(c, groups)
    return conv, val


def _lever(channel: Channel) -> str:
    return channel[0] if isinstance(channel, tuple) else channel


_HEURISTICS = {"first_touch": first_touch, "last_touch": last_touch, "last_non_direct": last_non_direct,
               "linear": linear, "position_based": position_based}
