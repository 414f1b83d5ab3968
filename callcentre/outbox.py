"""The leads webhook's durable outbox: each lead pushed to the call centre's tool once, as soon as it qualifies.

`lead_deliveries` (ClickHouse) is the outbox: a row per lead and state, the latest one current. The
dispatcher, a task of the collector, loops every few seconds:

1. **qualify**: the leads of the last days (leads.find) not in the outbox yet get a `pending` row, due now;
2. **deliver**, oldest lead first, one at a time: a due lead still a lead is POSTed, signed (webhook.py); a
   2xx makes it `delivered`; anything else (no answer within TIMEOUT, a redirect, a 4xx, a 5xx) leaves it
   `pending`, due again after a backoff (1 s doubling to 15 minutes), and ends the pass (the receiver is
   likely down: the other leads wait for the next pass rather than TIMEOUT each); a lead that is no longer one
   (the visitor came back, submitted, signed; or its phone's retention ended) is `withdrawn`, and one past its
   deadline (call_by) `expired`. A redirect is not followed: the lead, its phone inside, goes to the URL set
   and nowhere else.

The state is written before the next lead is sent, so a restart never sends a delivered lead again, and a
pending one is retried when it is due. Between a 2xx and the write, a crash would send it once more:
receivers deduplicate on the lead id (X-Parcours-Lead), the same on every attempt. One dispatcher runs, in
the collector's first worker (with several machines: set the webhook on one of them).
"""

from __future__ import annotations

import base64
import datetime as dt
import http.client
import logging
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, Callable

from callcentre import leads as leads_mod
from callcentre import webhook
from callcentre.seal import Sealer
from collector.periodic import Periodic
from collector.since import epoch_seconds, naive_utc
from collector.storage import Store
from tagplan import CompiledPlan

log = logging.getLogger("parcours.leads.webhook")

TICK = 2.0
"""Seconds between two looks for new leads and due deliveries."""
WINDOW = dt.timedelta(days=3)
"""How far back leads are looked for: past D+1, every lead has expired."""
RETRY_MIN, RETRY_MAX = 1.0, 900.0
TIMEOUT = 10.0
"""Seconds a delivery waits for the receiver's answer, the whole exchange (however slowly it trickles in)."""


@dataclass
class Delivery:
    lead_id: str
    state: str
    attempts: int
    next_attempt_at: dt.datetime


@dataclass
class Tick:
    """What one pass did."""

    qualified: int = 0
    delivered: int = 0
    failed: int = 0
    withdrawn: int = 0
    expired: int = 0
    locked: int = 0
    """Leads whose phone this collector's leads key cannot open: left pending, not sent, not withdrawn."""


def backoff(attempts: int) -> float:
    """Seconds before the next attempt after `attempts` failed ones."""
    return min(RETRY_MIN * 2 ** max(attempts - 1, 0), RETRY_MAX)


class Outbox:
    """The webhook's outbox on one ClickHouse client; `tick` is one pass (what the dispatcher loops over)."""

    def __init__(self, store: Store, url: str, secret: str, post: Callable[[str, bytes, dict], int] | None = None):
        self.store, self.url, self.secret = store, url, secret
        self.post = post or _post
        self._versions: dict[str, float] = {}

    def tick(self, plan: CompiledPlan, sealer: Sealer | None) -> Tick:
        """Qualify the new leads, then deliver what is due."""
        out = Tick()
        now = naive_utc(self.store.query("SELECT now64(3, 'UTC')").rows[0][0])
        found = leads_mod.find(self.store, plan, sealer, now - WINDOW, now)
        current = {r["lead_id"]: r for r in (dict(zip(found.columns, row)) for row in found.rows)}
        known = self._deliveries(list(current))
        new = [lead for lead_id, lead in current.items() if lead_id not in known and not lead["expired"]]
        if new:
            self._write([self._row(lead, "pending", 0, now) for lead in new])
            out.qualified = len(new)
            for lead in new:
                known[lead["lead_id"]] = Delivery(lead["lead_id"], "pending", 0, now)
        for delivery in self._due(now):
            lead = current.get(delivery.lead_id)
            if lead is None:
                self._write([self._state(delivery, "withdrawn")])
                out.withdrawn += 1
            elif lead["expired"]:
                self._write([self._state(delivery, "expired", lead)])
                out.expired += 1
            elif not lead["phone"]:  # no key, or not the key that sealed it: it waits for one, still a lead
                out.locked += 1
            elif self._deliver(lead, delivery, now):
                out.delivered += 1
            else:
                out.failed += 1
                break  # the receiver is failing: the others are tried on the next pass
        return out

    def _deliver(self, lead: dict[str, Any], delivery: Delivery, now: dt.datetime) -> bool:
        attempt = delivery.attempts + 1
        payload = webhook.body(lead)
        headers = webhook.headers(self.secret, lead["lead_id"], attempt, int(time.time()), payload)
        try:
            status = self.post(self.url, payload, headers)
            error = "" if 200 <= status < 300 else f"answered {status}"
            if 300 <= status < 400:
                error += " (a redirect, not followed: set the webhook to the URL it points to)"
        except (OSError, http.client.HTTPException) as exc:  # refused, unreachable, timed out, not HTTP
            error = str(exc) or type(exc).__name__
        if not error:
            row = self._row(lead, "delivered", attempt, now)
            row["delivered_at"] = epoch_seconds(dt.datetime.now(dt.timezone.utc))
            self._write([row])
            log.info("lead %s delivered (attempt %d)", lead["lead_id"], attempt)
            return True
        wait = backoff(attempt)
        row = self._row(lead, "pending", attempt, now + dt.timedelta(seconds=wait))
        row["last_error"] = error[:500]
        self._write([row])
        log.warning("lead %s: delivery attempt %d to %s failed (%s); next in %.0f s", lead["lead_id"], attempt,
                    self.url, error, wait)
        return False

    def _deliveries(self, lead_ids: list[str]) -> dict[str, Delivery]:
        if not lead_ids:
            return {}
        result = self.store.query(
            "SELECT lead_id, argMax(state, updated_at), argMax(attempts, updated_at), "
            f"argMax(next_attempt_at, updated_at) FROM {self.store.database}.lead_deliveries "
            "WHERE lead_id IN {ids:Array(String)} GROUP BY lead_id", parameters={"ids": lead_ids})
        return {r[0]: Delivery(r[0], r[1], int(r[2]), naive_utc(r[3])) for r in result.rows}

    def _due(self, now: dt.datetime) -> list[Delivery]:
        result = self.store.query(
            "SELECT lead_id, state, attempts, next_attempt_at FROM (SELECT lead_id, argMax(state, updated_at) AS state, "
            "argMax(attempts, updated_at) AS attempts, argMax(next_attempt_at, updated_at) AS next_attempt_at, "
            f"argMax(call_by, updated_at) AS call_by FROM {self.store.database}.lead_deliveries GROUP BY lead_id) "
            "WHERE state = 'pending' AND next_attempt_at <= {now:DateTime64(3, 'UTC')} "
            "ORDER BY next_attempt_at, lead_id", parameters={"now": now})
        return [Delivery(r[0], r[1], int(r[2]), naive_utc(r[3])) for r in result.rows]

    def _row(self, lead: dict[str, Any], state: str, attempts: int, next_at: dt.datetime) -> dict[str, Any]:
        return {"lead_id": lead["lead_id"], "state": state, "attempts": attempts,
                "next_attempt_at": epoch_seconds(next_at), "visitor_id": lead["visitor_id"],
                "phone_key": lead["phone_key"], "form_id": lead["form_id"], "call_by": epoch_seconds(lead["call_by"])}

    def _state(self, delivery: Delivery, state: str, lead: dict[str, Any] | None = None) -> dict[str, Any]:
        """A delivery's new state, its other columns kept (the lead may be gone from the leads)."""
        db = self.store.database
        (row,) = self.store.query(
            f"SELECT argMax(visitor_id, updated_at), argMax(phone_key, updated_at), argMax(form_id, updated_at), "
            f"toUnixTimestamp64Milli(argMax(call_by, updated_at)) FROM {db}.lead_deliveries "
            "WHERE lead_id = {id:String}", parameters={"id": delivery.lead_id}).rows
        return {"lead_id": delivery.lead_id, "state": state, "attempts": delivery.attempts,
                "next_attempt_at": epoch_seconds(delivery.next_attempt_at), "visitor_id": row[0], "phone_key": row[1],
                "form_id": row[2], "call_by": row[3] / 1000}

    def _write(self, rows: list[dict[str, Any]]) -> None:
        # Each row a later version than the lead's last (two in the same millisecond would tie).
        for row in rows:
            version = max(time.time(), self._versions.get(row["lead_id"], 0) + 0.001)
            self._versions[row["lead_id"]] = row["updated_at"] = round(version, 3)
        self.store.insert_rows("lead_deliveries", rows)


def _post(url: str, payload: bytes, headers: dict[str, str]) -> int:
    """POST once and return the status; redirects are not followed. The whole exchange is bounded by TIMEOUT:
    a socket timeout alone bounds each read, and a receiver answering a byte at a time would hold the
    dispatcher for ever. Credentials in the URL (https://user:pass@host/) are sent as Basic auth."""
    parts = urllib.parse.urlsplit(url)
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = connection_class(parts.hostname or "", parts.port, timeout=TIMEOUT)
    if parts.username:
        login = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
        headers = {**headers, "Authorization": "Basic " + base64.b64encode(login.encode()).decode()}
    expired = threading.Event()

    def cut() -> None:
        expired.set()
        sock = conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked read
            except OSError:
                pass

    timer = threading.Timer(TIMEOUT, cut)
    timer.daemon = True
    timer.start()
    try:
        conn.request("POST", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""), body=payload,
                     headers=headers)
        status = conn.getresponse().status
        if expired.is_set():  # cut off mid-answer: http.client takes the end of the stream for the end of headers
            raise TimeoutError
        return status
    except (OSError, http.client.HTTPException) as exc:
        if expired.is_set():
            raise TimeoutError(f"no answer within {TIMEOUT:.0f} s") from None
        raise exc
    finally:
        timer.cancel()
        conn.close()


class Dispatcher(Periodic):
    """The outbox's loop, a task of the collector: a pass every TICK seconds, on a thread of its own; `stop()`
    finishes the pass under way (a delivery waits TIMEOUT at most)."""

    def __init__(self, outbox: Outbox, state):
        super().__init__("parcours-leads-webhook", lambda: outbox.tick(state.plan, state.sealer), TICK, log,
                         "leads webhook: a pass")
        self.outbox, self.state = outbox, state
