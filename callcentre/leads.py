"""Call-back leads (docs/call-centre.md): who to call back, with their phone, their consent's proof and how
they came. `leads.sql` finds them; the phone is opened here, for the command line, the admin API and the
webhook alike (`find`)."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

from callcentre.seal import Sealer, Unsealable
from collector.storage import QueryResult, Store
from tagplan import CompiledPlan

log = logging.getLogger("parcours.leads")

SQL = (Path(__file__).parent / "leads.sql").read_text()
COLUMNS = ("lead_id", "form_id", "phone", "phone_key", "consented_at", "wording", "consent_url", "abandoned_at",
           "last_step", "last_step_index", "time_on_form_s", "lever", "campaign", "broker_id", "broker_name",
           "call_by", "expired", "delivery", "visitor_id", "session_id")
"""What a lead says, in this order (docs/call-centre.md documents each)."""
WAIT_DAYS = {"D": 0, "D+1": 1}


def rules(plan: CompiledPlan) -> list[tuple[str, int, int, int, str, str]]:
    """The plan's lead rules as leads.sql takes them: (form, from_step index, quiet seconds, wait days, the step
    asking the phone and the box, the box's property)."""
    lead_step = {form_id: step for form_id, step in plan.lead_steps}
    out = []
    for form_id, rule in plan.plan.call_centre.leads.items():
        steps = plan.steps.get(form_id, {})
        if rule.from_step in steps:
            out.append((form_id, steps[rule.from_step][0], rule.quiet_minutes * 60, WAIT_DAYS[rule.wait],
                        lead_step.get(form_id, ""), rule.consent))
    return out


def find(store: Store, plan: CompiledPlan, sealer: Sealer | None, since: dt.datetime,
         now: dt.datetime | None = None, form: str | None = None, min_step: int = 0) -> QueryResult:
    """The leads whose form was abandoned since `since`, each with its phone opened (empty when this key ring
    cannot open it: the lead is listed, and the log says why)."""
    plan_rules = rules(plan)
    if not plan_rules:
        return QueryResult(list(COLUMNS), [])
    now = now or _now(store)
    result = store.query(SQL.replace("{db}", store.database), parameters={
        "since": since, "now": now, "rules": plan_rules, "min_step": min_step, "form": form or "",
        "tz": plan.plan.reconciliation.time_zone})
    rows = []
    for record in (dict(zip(result.columns, row)) for row in result.rows):
        record["phone"] = _open(sealer, record)
        rows.append([_utc(record[c]) for c in COLUMNS])
    return QueryResult(list(COLUMNS), rows)


_warned: set[str] = set()
"""Leads already said to be unopenable (the dispatcher looks every few seconds: once each is enough)."""


def _open(sealer: Sealer | None, record: dict[str, Any]) -> str:
    try:
        if sealer is None:
            raise Unsealable("no leads key")
        return sealer.open(record["sealed"], record["contact_id"])
    except Unsealable as exc:
        if record["lead_id"] not in _warned and len(_warned) < 100_000:
            _warned.add(record["lead_id"])
            log.warning("lead %s: its phone cannot be opened (%s): listed without it", record["lead_id"], exc)
        return ""


def _utc(value: Any) -> Any:
    """Times as aware UTC datetimes, whichever way the driver gave them."""
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


def _now(store: Store) -> dt.datetime:
    return store.query("SELECT now64(3, 'UTC')").rows[0][0]
