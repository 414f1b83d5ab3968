"""A small, realistic traffic history sent through the real collector's POST /collect, as the tag sends it.

Visitors land from display, search, social, email, a broker's site (`?courtier=B042`) or directly, over
the last `days` days; some fill in the MotoAssur quote form (4 steps), some leave it (a `form_abandon`),
some send it (`form_submit` with a quote id and a phone number, which the collector hashes). A few events
break the plan, so the refused-events figures have something to show. Deterministic for a given seed.

The batch's `sent` is now and each event's `t` its own past time: the collector's clock-skew correction
then dates each event at `t`, as it dates events a tag kept offline and sent later (start the collector
with a --max-event-age longer than the history).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
import urllib.request
import uuid
from pathlib import Path

SITE = "http://127.0.0.1:8000/demo/"
LANDINGS = [
    # (weight, captured parameters of the landing, referrer)
    (30, {"utm_source": "display", "utm_medium": "cpm", "utm_campaign": "moto-spring"}, ""),
    (10, {"utm_source": "display", "utm_medium": "cpm", "utm_campaign": "moto-retarget"}, ""),
    (20, {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "moto-brand", "gclid": "g"}, "https://www.google.com/"),
    (10, {"utm_source": "facebook", "utm_medium": "social", "utm_campaign": "moto-video", "fbclid": "f"}, "https://www.facebook.com/"),
    (6, {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "moto-nov"}, ""),
    (12, {"courtier": "B042"}, "https://www.comparamoto.example/"),
    (6, {"courtier": "B107"}, "https://www.assurland.example/"),
    (16, {}, ""),
]
STEPS = ("vehicle", "rider", "coverage", "contact")
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
UA_MOBILE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"


def _id() -> str:
    return str(uuid.UUID(int=_rng.getrandbits(128), version=4))


_rng = random.Random(0)


def visitors(n: int, days: int, now_ms: int, seed: int = 42):
    """Per visitor: (user agent, events), each event a wire-format dict dated within the last `days` days."""
    global _rng
    _rng = random.Random(seed)
    quote = 0
    for number in range(n):
        vid = _id()
        variant = "ab"[number % 2]  # the form's version shown to the visitor (an A/B test), kept across visits
        ua = UA_MOBILE if _rng.random() < 0.35 else UA
        start = now_ms - int(_rng.random() * days * 86_400_000)
        events = []
        for visit in range(1 + (_rng.random() < 0.35) + (_rng.random() < 0.15)):
            sid, t = _id(), start + visit * int(_rng.uniform(0.5, 3) * 86_400_000)
            if t >= now_ms - 60_000:
                break
            weight, captured, ref = _rng.choices(LANDINGS, weights=[w for w, _, _ in LANDINGS])[0]
            query = "&".join(f"{k}={v}" for k, v in captured.items())
            url = SITE + ("?" + query if query else "")
            base = {"vid": vid, "sid": sid, "url": url, "ref": ref}
            if captured:
                events.append({**base, "id": _id(), "e": "touch", "t": t, "q": 0, "c": captured})
            events.append({**base, "id": _id(), "e": "page_view", "t": t, "q": 1, "c": captured})
            if _rng.random() < 0.45:  # a single page view: a bounce
                continue
            reached = _rng.choices(range(0, 5), weights=[10, 25, 15, 15, 35])[0]
            elapsed = t
            for i, step in enumerate(STEPS[:reached]):
                dt = int(_rng.uniform(8, 90) * 1000)
                elapsed += dt
                events.append({**base, "id": _id(), "e": "form_step", "t": elapsed, "q": 2 + i, "f": "moto_quote",
                               "s": step, "dt": dt, "c": captured, **({"p": {"variant": variant}} if i == 0 else {})})
            if reached == 4 and _rng.random() < 0.8:
                quote += 1
                events.append({**base, "id": _id(), "e": "form_submit", "t": elapsed + 2000, "q": 7, "f": "moto_quote",
                               "c": captured, "p": {"quote_id": f"Q-SEED{quote:05d}",
                                                    "phone": f"06 {quote // 10000 % 100:02d} {quote // 100 % 100:02d} {quote % 100:02d} 11",
                                                    "formula": _rng.choice(["tiers", "tiers_vol", "tous_risques"])}})
            elif reached:
                events.append({**base, "id": _id(), "e": "form_abandon", "t": elapsed + 5000, "q": 8, "f": "moto_quote",
                               "s": STEPS[min(reached, 3)], "c": captured})
        yield ua, events


MRS_X_QUOTE, MRS_X_PHONE = "Q-8F2KX1", "06 12 34 56 78"
"""The sample broker file's first sale (MA-2026-0104512, signed by B042 on 3 October 2026) carries this quote
id and phone: Mrs X, who clicked a display ad and asked for a quote online two days before."""


def mrs_x() -> list[dict]:
    """Mrs X's visit: a display landing on 1 October 2026, the four steps, the quote sent."""
    t = int(dt.datetime(2026, 10, 1, 18, 30, tzinfo=dt.timezone.utc).timestamp() * 1000)
    vid, sid = str(uuid.uuid4()), str(uuid.uuid4())
    captured = {"utm_source": "display", "utm_medium": "cpm", "utm_campaign": "moto-spring"}
    base = {"vid": vid, "sid": sid, "url": SITE + "?utm_source=display&utm_medium=cpm&utm_campaign=moto-spring",
            "ref": "", "c": captured}
    events = [{**base, "id": str(uuid.uuid4()), "e": "touch", "t": t, "q": 0},
              {**base, "id": str(uuid.uuid4()), "e": "page_view", "t": t, "q": 1}]
    for i, step in enumerate(STEPS):
        events.append({**base, "id": str(uuid.uuid4()), "e": "form_step", "t": t + (i + 1) * 40_000, "q": 2 + i,
                       "f": "moto_quote", "s": step, "dt": 40_000})
    events.append({**base, "id": str(uuid.uuid4()), "e": "form_submit", "t": t + 200_000, "q": 7, "f": "moto_quote",
                   "p": {"quote_id": MRS_X_QUOTE, "phone": MRS_X_PHONE, "formula": "tous_risques"}})
    return events


def import_offline(data_dir: Path, plan_path: Path, secret: bytes, samples: Path) -> None:
    """The sample sales (broker shops, call centre), call log and campaign costs, through the real import code, into the
    embedded engine of `data_dir`: run it before the collector starts (the collector then owns the engine)."""
    from collector.storage import Store, default_dsn
    from callcentre import calls
    from journeys import conversions, costs
    from journeys.imports import Context
    from tagplan import compile_plan, load_plan

    ctx = Context(compile_plan(load_plan(plan_path)), secret)
    store = Store(default_dsn(data_dir))
    try:
        store.migrate()
        for name, profile in (("ventes-courtiers-2026-10.csv", "courtiers"), ("ventes-crc-2026-10.json", "crc")):
            with (samples / name).open("rb") as fh:
                conversions.import_file(store, ctx, fh, source=name, profile=profile)
        with (samples / "couts-campagnes-2026-10.csv").open("rb") as fh:
            costs.import_file(store, ctx, fh, source="couts-campagnes-2026-10.csv", profile="regie")
        with (samples / "appels-crc-2026-10.csv").open("rb") as fh:  # the call centre's PBX log
            calls.import_file(store, ctx, fh, source="appels-crc-2026-10.csv", profile="asterisk")
    finally:
        store.close()


def broken(now_ms: int, n: int = 6):
    """Events the example plan refuses: an undeclared event, and a step the form does not have."""
    for i in range(n):
        yield {"id": _id(), "e": "newsletter_signup" if i % 2 else "form_step", "t": now_ms - i * 3_600_000,
               "vid": _id(), "sid": _id(), "url": SITE, "f": "moto_quote", "s": "payment" if i % 2 == 0 else ""}


def send(collector_url: str, n: int = 300, days: int = 30, seed: int = 42, per_request: int = 200) -> int:
    """Send the history to a running collector; how many events were sent (all accepted or kept as rejected)."""
    now_ms = int(time.time() * 1000)
    sent = 0
    batch: list[dict] = []
    last_ua = UA

    def flush(ua):
        nonlocal batch, sent
        if not batch:
            return
        body = json.dumps({"sent": int(time.time() * 1000), "events": batch}).encode()
        req = urllib.request.Request(f"{collector_url}/collect", data=body, method="POST",
                                     headers={"Content-Type": "text/plain", "User-Agent": ua})
        with urllib.request.urlopen(req, timeout=30) as resp:
            if resp.status >= 300:
                raise RuntimeError(f"/collect answered {resp.status}")
        sent += len(batch)
        batch = []

    for ua, events in visitors(n, days, now_ms, seed):
        if ua != last_ua or len(batch) + len(events) > per_request:
            flush(last_ua)
            last_ua = ua
        batch.extend(events)
    flush(last_ua)
    batch = mrs_x()
    flush(UA)
    batch = list(broken(now_ms))
    flush(UA)
    return sent
