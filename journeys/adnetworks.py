"""Offline conversions back to the ad networks: the sales whose buyer clicked one of the network's ads, in the
format the network imports, so it can count them and optimise its bids on them.

Which sales (adnetworks.sql): signed in the period, whose buyer (the person of the sale's phone or CRM id)
landed on the site from the network's ad (its click id captured: `gclid` for Google Ads, `fbclid` for Meta)
before the sale and within the lookback (the plan's reconciliation.lookback_days, at most what the network
accepts), and agreed that the sale be shared with ad networks (`conversions.ad_consent` granted: the answer the
contract or the CRM records, imported with the sale). The last such click before the sale is the one sent.

What leaves, and nothing else (docs/adnetworks.md says it field by field):

- Google Ads, the click-conversion import file (CSV): a `Parameters:TimeZone=` row (the plan's time zone), then
  per sale its click id, the conversion action's name, the signature time in that zone, the value and its
  currency, and the consent columns (Ad User Data: the buyer's recorded answer; Ad Personalization: empty). Google
  counts a (click id, name, time) once, so a file imported again adds nothing.
- Meta, Conversions API events (JSON, the body of POST /{dataset_id}/events): per sale `event_name`
  (Purchase), `event_time`, `action_source` (`physical_store`, or `phone_call` for the call centre's sales),
  `event_id` (the contract id), `user_data.fbc` (the click id as Meta's fbc: fb.1.<time of the click in
  ms>.<fbclid>) and `custom_data` (value, currency, and the contract id as `order_id`, which Meta deduplicates
  offline events on). No phone, no e-mail, hashed
  or not. Meta takes a phone_call event up to 7 days old and a physical_store one up to 62 (and fails a whole
  request holding an event more than 7 days old that is not a store sale): older sales are left out, and
  counted, and store sales between 7 and 62 days old go in requests of their own; web sales are left out (the
  site's pixel reports them, with the browser data Meta requires of them). A request holds at most 1,000
  events: the export is one request body per line, each of at most 1,000.

The value is the sale's premium; with an attribution model (`--model`), the premium times the credit the model
gives the touch carrying the click (journeys/click_credit.py), and a sale whose click gets none is left out.

Retractions (`retractions`): the sales cancelled in a period that the export would have sent, for Google Ads'
conversion adjustments file: a RETRACT row per sale, naming the conversion as the export sent it (its click id,
conversion name and time), so that Google stops counting it. Meta's Conversions API has no retraction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import zoneinfo
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from collector.errors import BadParameter
from collector.output import csv_text
from collector.storage import Store
from journeys import click_credit
from tagplan import CompiledPlan

SQL = Path(__file__).with_name("adnetworks.sql")
META_MAX_AGE = {"phone_call": dt.timedelta(days=7), "physical_store": dt.timedelta(days=62)}
"""How old an event Meta takes, by action_source: 7 days (a whole request fails when one of its events is older),
except physical_store events, uploaded within 62 days of the sale (Meta's Conversions API, "Using the API")."""
META_RECENT = dt.timedelta(days=7)
"""Older physical_store events go in requests of their own, so a request of recent events never holds one."""
GOOGLE_MAX_CLICK_AGE = dt.timedelta(days=90)
"""Google Ads refuses the upload of a conversion whose click is older than this."""
META_BATCH = 1000
"""The most events one Conversions API request may hold."""
NO_CONSENT = {"denied": "the buyer refused that the sale be shared with ad networks",
              "": "the buyer's consent to sharing the sale with ad networks is not recorded (ad_consent)"}
"""Why a sale with a click id is left out, by its ad_consent."""


@dataclass(frozen=True)
class Network:
    name: str
    click_type: str
    """The URL parameter of its click id, as events.click_id_type holds it."""
    max_lookback_days: int
    """The oldest click the network takes a conversion for."""
    media_type: str


NETWORKS = {
    "google-ads": Network("google-ads", "gclid", 90, "text/csv"),
    "meta": Network("meta", "fbclid", 90, "application/x-ndjson"),
}
GOOGLE_COLUMNS = ("Google Click ID", "Conversion Name", "Conversion Time", "Conversion Value", "Conversion Currency",
                  "Ad User Data", "Ad Personalization")
"""The columns of Google Ads' click-conversion import template, in its order, its two consent columns included."""
ADJUSTMENT_COLUMNS = ("Google Click ID", "Conversion Name", "Conversion Time", "Adjustment Time", "Adjustment Type",
                      "Adjusted Value", "Adjusted Value Currency")
"""The columns of Google Ads' conversion adjustments template, the variant that names a conversion by its click id
and time (the conversions file sends no order id)."""
RETRACT = "RETRACT"
"""The adjustment type of the upload file (the API's enum spells it RETRACTION)."""
GOOGLE_CONSENT = {"granted": "Granted", "denied": "Denied"}
"""A sale's ad_consent as Google's Ad User Data column writes it (only granted sales are exported)."""
META_ACTION_SOURCES = {"call_centre": "phone_call"}
"""A sale's channel -> Meta's action_source; any other offline channel is a shop: physical_store."""


@dataclass(frozen=True)
class Sale:
    conversion_id: str
    ts: dt.datetime
    premium: Decimal
    currency: str
    channel: str
    click_id: str
    clicked_at: dt.datetime
    ad_consent: str = "granted"
    person_id: str = ""
    click_session: str = ""
    """The session in which the click id was first seen: the touch an attribution model credits."""
    signer: str = ""
    cancelled_at: dt.datetime | None = None
    weight: float = 1.0
    """The share of the sale credited to the click (1 without an attribution model)."""

    @property
    def value(self) -> Decimal:
        return (self.premium * Decimal(repr(self.weight))).quantize(Decimal("0.01"))


@dataclass
class Export:
    """The network's file, and what was left out of it and why."""

    network: str
    media_type: str
    content: str
    conversions: int = 0
    left_out: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"network": self.network, "media_type": self.media_type, "content": self.content,
                "conversions": self.conversions, "left_out": self.left_out}


def network(name: str) -> Network:
    if name not in NETWORKS:
        raise BadParameter(f'network "{name}": expected one of {", ".join(NETWORKS)}')
    return NETWORKS[name]


def sales(store: Store, plan: CompiledPlan, net: Network, since: dt.datetime, until: dt.datetime, *,
          cancelled: bool = False) -> list[Sale]:
    """The sales of the period with the network's last click on the buyer's journey, within the lookback; with
    `cancelled`, the sales cancelled in the period instead (signed whenever)."""
    lookback = min(plan.plan.reconciliation.lookback_days, net.max_lookback_days)
    result = store.query(SQL.read_text().replace("{db}", store.database), parameters={
        "from": since, "to": until, "click_type": net.click_type, "lookback_days": lookback, "cancelled": cancelled})
    return [Sale(r[0], _utc(r[1]), Decimal(r[2]), r[3], r[4], r[5], _utc(r[6]), r[7], r[8], r[9], r[10],
                 _utc(r[11]) if cancelled else None)
            for r in result.rows]


def export(store: Store, plan: CompiledPlan, name: str, since: dt.datetime, until: dt.datetime, *,
           conversion_name: str = "Offline sale", event_name: str = "Purchase", model: str | None = None,
           now: dt.datetime | None = None) -> Export:
    """The network's file for the sales of the period (see the module docstring); with a model, each sale's
    value weighted by the credit the model gives the touch carrying the click (journeys/click_credit.py)."""
    net = network(name)
    if model:
        click_credit.check(model)
    now = now or dt.datetime.now(dt.timezone.utc)
    found, left_out = consenting(sales(store, plan, net, since, until))
    if model:
        credit = click_credit.weights(store, plan, found, model, since, until)
        found = [dataclasses.replace(s, weight=credit.get(s.conversion_id, 0.0)) for s in found]
        uncredited = [s for s in found if s.weight <= 0]
        if uncredited:
            left_out[f"{model} gives the touch of the click no credit"] = len(uncredited)
            found = [s for s in found if s.weight > 0]
    if net.name == "google-ads":
        # Google takes a conversion up to 90 days after its click: an older click's upload fails ("expired")
        expired = [s for s in found if now - s.clicked_at > GOOGLE_MAX_CLICK_AGE]
        if expired:
            why = f"the click is more than {GOOGLE_MAX_CLICK_AGE.days} days old: Google no longer takes it"
            left_out[why] = len(expired)
            found = [s for s in found if s not in expired]
        out = google_ads(found, plan.plan.reconciliation.time_zone, conversion_name)
    else:
        out = meta(found, event_name, now)
    out.left_out = {**left_out, **out.left_out}
    return out


def retractions(store: Store, plan: CompiledPlan, name: str, since: dt.datetime, until: dt.datetime, *,
                conversion_name: str = "Offline sale", now: dt.datetime | None = None) -> Export:
    """Google Ads' conversion adjustments file: a RETRACT row for each sale cancelled in the period that the
    conversions file sends (a click of the network within the lookback, the buyer's consent), named as it sent
    it. Whether that sale was uploaded is not known here: Google says of a row naming no conversion it holds
    that it found none, and changes nothing."""
    net = network(name)
    if net.name != "google-ads":
        raise BadParameter(f'network "{name}": only Google Ads takes retractions (conversion adjustments); Meta\'s '
                           "Conversions API has none for an event it received")
    if not conversion_name.strip():
        raise BadParameter("conversion name: give the name of the Google Ads conversion action to adjust")
    # A cancellation dated in the future (a termination at the contract's anniversary) waits for its date, whatever
    # the period: Google takes no adjustment dated after the upload.
    until = min(until, now or dt.datetime.now(dt.timezone.utc))
    found, left_out = consenting(sales(store, plan, net, since, until, cancelled=True)) if since < until else ([], {})
    zone = zoneinfo.ZoneInfo(plan.plan.reconciliation.time_zone)
    rows = [ADJUSTMENT_COLUMNS]
    for sale in found:
        # Google takes an adjustment dated after its conversion: a cancellation within the signature's own second
        # is sent as the next one.
        adjusted = max(sale.cancelled_at or sale.ts, sale.ts.replace(microsecond=0) + dt.timedelta(seconds=1))
        rows.append([sale.click_id, conversion_name, _google_time(sale.ts, zone), _google_time(adjusted, zone),
                     RETRACT, "", ""])
    text = f"Parameters:TimeZone={plan.plan.reconciliation.time_zone}\n" + csv_text(rows)
    return Export("google-ads", net.media_type, text, len(found), left_out)


def consenting(found: list[Sale]) -> tuple[list[Sale], dict[str, int]]:
    """The sales whose buyer agreed to their being shared with ad networks; how many others, and why."""
    kept: list[Sale] = []
    left_out: dict[str, int] = {}
    for sale in found:
        if sale.ad_consent == "granted":
            kept.append(sale)
        else:
            why = NO_CONSENT.get(sale.ad_consent, NO_CONSENT[""])
            left_out[why] = left_out.get(why, 0) + 1
    return kept, left_out


def google_ads(found: list[Sale], time_zone: str, conversion_name: str) -> Export:
    """Google Ads' click-conversion import file: times in the plan's zone, named once in the Parameters row."""
    if not conversion_name.strip():
        raise BadParameter("conversion name: give the name of the Google Ads conversion action to import into")
    zone = zoneinfo.ZoneInfo(time_zone)
    rows = [GOOGLE_COLUMNS]
    for sale in found:
        # Ad User Data: the buyer's answer parcours recorded (ad_consent). Ad Personalization: parcours asks no
        # such question, so it is left empty (not specified); Google uses it for customer lists, not click imports.
        rows.append([sale.click_id, conversion_name, _google_time(sale.ts, zone),
                     f"{sale.value:.2f}", sale.currency, GOOGLE_CONSENT.get(sale.ad_consent, ""), ""])
    # csv_text: a click id holding a carriage return (as a URL may carry it) quoted, not a row split in two
    text = f"Parameters:TimeZone={time_zone}\n" + csv_text(rows)
    return Export("google-ads", NETWORKS["google-ads"].media_type, text, len(found))


def meta(found: list[Sale], event_name: str, now: dt.datetime) -> Export:
    """Meta Conversions API events for offline sales: one request body (for a POST to the dataset's /events)
    per line, each of at most META_BATCH events; physical_store events more than 7 days old in bodies of their
    own (Meta fails a whole request holding an event older than 7 days, but takes store sales up to 62)."""
    recent: list[dict] = []
    late: list[dict] = []
    left_out: dict[str, int] = {}
    for sale in found:
        source = META_ACTION_SOURCES.get(sale.channel, "physical_store")
        age, limit = now - sale.ts, META_MAX_AGE[source]
        why = ("a web sale: the site's pixel reports it" if sale.channel == "web" else
               f"signed more than {limit.days} days ago: Meta refuses a {source} event that old" if age > limit
               else "")
        if why:
            left_out[why] = left_out.get(why, 0) + 1
            continue
        (recent if age <= META_RECENT else late).append({
            "event_name": event_name,
            "event_time": int(sale.ts.timestamp()),
            "action_source": source,
            "event_id": sale.conversion_id,
            "user_data": {"fbc": fbc(sale.click_id, sale.clicked_at)},
            # order_id: what Meta deduplicates offline events on (with event_time and event_name), 7 days long
            "custom_data": {"value": float(sale.value), "currency": sale.currency, "order_id": sale.conversion_id},
        })
    bodies = (json.dumps({"data": group[i:i + META_BATCH]}) + "\n"
              for group in (recent, late) for i in range(0, len(group), META_BATCH))
    return Export("meta", "application/x-ndjson", "".join(bodies), len(recent) + len(late), left_out)


def _google_time(when: dt.datetime, zone: zoneinfo.ZoneInfo) -> str:
    """A time as Google's files write it: in the Parameters row's zone, to the second."""
    return when.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def fbc(fbclid: str, clicked_at: dt.datetime) -> str:
    """Meta's fbc: version fb, subdomain index 1, the time the click id was first seen (ms), the fbclid as given."""
    return f"fb.1.{int(clicked_at.timestamp() * 1000)}.{fbclid}"


def _utc(when: dt.datetime) -> dt.datetime:
    return when.replace(tzinfo=dt.timezone.utc) if when.tzinfo is None else when.astimezone(dt.timezone.utc)
