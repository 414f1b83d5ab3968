"""The reports the page asks for when it opens as it is (its default view: state.js DEFAULTS, each panel's
params): the view the kept answers compute before anybody has asked for one (journeys/reports/results.py,
`Results.refresh`), so that the first viewer of a new install finds the figures ready rather than twenty CPU
seconds of queries on 10 million events. e2e/test_dashboard.py checks that the page asks for exactly these."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tagplan import CompiledPlan

PERIOD = {"from": "today-29", "to": "today+1"}
"""The default period, the last 30 days (today included), as days from today (results.TODAY)."""
CREDIT = {"model": "linear", "lookback": "30d", "offline_touch": "true"}
"""How the panels that credit sales credit them by default (state.js `credit`)."""


def default_view(plan: CompiledPlan) -> list[tuple[str, dict[str, str]]]:
    """The page's calls for its default view, in the order it asks (the attribution first: the other panels'
    conversion paths are read off its)."""
    form = next(iter(plan.plan.forms), "")
    calls = [
        ("attribution", {**CREDIT, "model": "all"}),
        ("overview", {"compare": "true"}),
        ("overview", {"interval": "day"}),
        ("funnel", {"form": form} if form else {}),  # the page leaves an empty parameter out
        ("levers", CREDIT),
        ("brokers", CREDIT),
        ("media_pos", {"model": CREDIT["model"], "lookback": CREDIT["lookback"]}),
        ("paths", {"lookback": CREDIT["lookback"], "offline_touch": CREDIT["offline_touch"]}),
        ("match", {"lookback": CREDIT["lookback"]}),
        ("rejected", {}),
    ]
    return [(name, {**PERIOD, **raw, "format": "json"}) for name, raw in calls]
