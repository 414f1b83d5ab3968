"""The leads webhook's format: one signed POST per lead (docs/call-centre.md shows how to check it).

    POST <PARCOURS_LEADS_WEBHOOK>
    Content-Type: application/json
    X-Parcours-Lead: <lead_id>                      the same on every attempt: deduplicate on it
    X-Parcours-Attempt: <1, 2, ...>
    X-Parcours-Timestamp: <Unix seconds>
    X-Parcours-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>

The timestamp is signed with the body, so a receiver refuses a delivery replayed later (5 minutes is the usual
tolerance). The body is the lead (`body`); its bytes are the same on every attempt.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from typing import Any

SIGNATURE = "X-Parcours-Signature"
TIMESTAMP = "X-Parcours-Timestamp"
LEAD = "X-Parcours-Lead"
ATTEMPT = "X-Parcours-Attempt"
TOLERANCE = 300


def body(lead: dict[str, Any]) -> bytes:
    """The JSON document of a lead (a row of leads.find), as delivered."""
    return json.dumps({
        "type": "callback_lead",
        "lead_id": lead["lead_id"],
        "form_id": lead["form_id"],
        "phone": lead["phone"],
        "call_by": _time(lead["call_by"]),
        "consent": {"given_at": _time(lead["consented_at"]), "wording": lead["wording"], "url": lead["consent_url"]},
        "abandoned_at": _time(lead["abandoned_at"]),
        "last_step": lead["last_step"],
        "last_step_index": lead["last_step_index"],
        "time_on_form_s": lead["time_on_form_s"],
        "journey": {"lever": lead["lever"], "campaign": lead["campaign"], "broker_id": lead["broker_id"],
                    "broker_name": lead["broker_name"]},
        "visitor_id": lead["visitor_id"],
        "phone_key": lead["phone_key"],
    }, ensure_ascii=False, separators=(",", ":")).encode()


def signature(secret: str, timestamp: int, payload: bytes) -> str:
    """The X-Parcours-Signature value of a payload sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"v1={mac}"


def headers(secret: str, lead_id: str, attempt: int, timestamp: int, payload: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json", LEAD: lead_id, ATTEMPT: str(attempt), TIMESTAMP: str(timestamp),
            SIGNATURE: signature(secret, timestamp, payload)}


def verify(secret: str, got_headers: dict[str, str], payload: bytes, now: float, tolerance: int = TOLERANCE) -> bool:
    """What a receiver does: the signature matches the body and timestamp, and the timestamp is recent.
    (Header names compared case-insensitively, as HTTP does.)"""
    lower = {k.lower(): v for k, v in got_headers.items()}
    try:
        timestamp = int(lower[TIMESTAMP.lower()])
    except (KeyError, ValueError):
        return False
    expected = signature(secret, timestamp, payload)
    return hmac.compare_digest(expected, lower.get(SIGNATURE.lower(), "")) and abs(now - timestamp) <= tolerance


def _time(value: Any) -> str:
    if isinstance(value, dt.datetime):
        value = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return str(value)
