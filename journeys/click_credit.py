"""The credit an attribution model gives the click an ad-network export sends (`parcours export conversions
--model`): a sale's path as the attribution reports build it, and the weight of the touch carrying the click.

A sale's path (docs/analysts.md, Attribution): its buyer's touches (sessions, and answered calls matched to
them) that started in the lookback before the sale (the plan's reconciliation.lookback_days), in time order,
then for an offline sale its point of sale (the lever of the broker who signed, else the sale's channel). The
touch carrying the click is the session in which the click id was first seen. Its weight is the model's
(journeys/attribution.py: time decay with the 7-day half-life; Markov with the removal effects of the
period's paths, as `parcours report attribution --model markov` computes them), between 0 and 1.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

from collector.errors import BadParameter
from collector.storage import Store
from journeys.attribution import MODELS, path_table, touch_weights
from journeys.touches import view_parameters
from tagplan import CompiledPlan

SQL = Path(__file__).with_name("click_credit.sql")
HALF_LIFE_DAYS = 7.0
"""time_decay's half-life, the reports' default."""
Touch = tuple[dt.datetime, str, str]
"""(when, lever, session id: '' for a call)."""


def check(model: str) -> str:
    if model not in MODELS:
        raise BadParameter(f'model "{model[:40]}": expected one of {", ".join(MODELS)}')
    return model


def weights(store: Store, plan: CompiledPlan, sales: list, model: str, since: dt.datetime,
            until: dt.datetime) -> dict[str, float]:
    """Per sale (conversion_id): the model's weight of the touch carrying its click (0 when the model gives
    it nothing). `sales` are adnetworks.Sale rows with their person_id, click_session and signer."""
    check(model)
    if not sales:
        return {}
    lookback = dt.timedelta(days=plan.plan.reconciliation.lookback_days)
    touches = _touches(store, plan, sorted({s.person_id for s in sales}),
                       min(s.ts for s in sales) - lookback, max(s.ts for s in sales) + dt.timedelta(seconds=1))
    levers = _points_of_sale(store, sorted({s.signer for s in sales if s.signer}))
    shares = _markov_shares(store, plan, since, until) if model == "markov" else {}
    out: dict[str, float] = {}
    for sale in sales:
        path = [t for t in touches.get(sale.person_id, []) if sale.ts - lookback <= t[0] <= sale.ts]
        if sale.channel != "web":
            path.append((sale.ts, levers.get(sale.signer) or sale.channel, ""))
        out[sale.conversion_id] = credit(path, sale.ts, sale.click_session, model, shares)
    return out


def credit(path: list[Touch], converted_at: dt.datetime, click_session: str, model: str,
           shares: dict[str, float] | None = None) -> float:
    """The weight of the click's touch (the session `click_session`) in one path, under the model."""
    at = next((i for i, t in enumerate(path) if t[2] and t[2] == click_session), None)
    if at is None:
        return 0.0
    levers = [t[1] for t in path]
    if model == "markov":
        # A path's conversion shared among its touches in proportion to their levers' removal effects: the
        # ratio of two levers' shares of all conversions is the ratio of their removal effects.
        effects = [(shares or {}).get(lever, 0.0) for lever in levers]
        total = sum(effects)
        return effects[at] / total if total > 0 else 0.0
    ages = [(converted_at - t[0]).total_seconds() / 86400 for t in path]
    table = path_table([(levers, 1, 0, 0, ages)])
    return float(touch_weights(table, model, HALF_LIFE_DAYS)[at])


def _touches(store: Store, plan: CompiledPlan, persons: list[str], since: dt.datetime,
             until: dt.datetime) -> dict[str, list[Touch]]:
    result = store.query(SQL.read_text().replace("{db}", store.database), parameters={
        "persons": persons, "from": since, "to": until, **view_parameters(plan)})
    out: dict[str, list[Touch]] = defaultdict(list)
    for person, session, at, lever in result.rows:
        out[person].append((_utc(at), lever, session))
    for path in out.values():
        path.sort(key=lambda t: t[0])
    return out


def _points_of_sale(store: Store, signers: list[str]) -> dict[str, str]:
    if not signers:
        return {}
    result = store.query(f"SELECT broker_id, argMax(lever, updated_at) FROM {store.database}.brokers "
                         "WHERE broker_id IN {signers:Array(String)} GROUP BY broker_id",
                         parameters={"signers": signers})
    return {r[0]: r[1] for r in result.rows}


def _markov_shares(store: Store, plan: CompiledPlan, since: dt.datetime, until: dt.datetime) -> dict[str, float]:
    """Each lever's share of the period's conversions under the Markov model (the attribution report's)."""
    from journeys import reports

    result = reports.run(store, plan, "attribution", {"from": since.isoformat(), "to": until.isoformat(),
                                                      "model": "markov"})
    rows = result.records()
    total = sum(float(r["conversions"]) for r in rows)
    return {r["lever"]: float(r["conversions"]) / total for r in rows} if total else {}


def _utc(when: dt.datetime) -> dt.datetime:
    return when.replace(tzinfo=dt.timezone.utc) if when.tzinfo is None else when.astimezone(dt.timezone.utc)
