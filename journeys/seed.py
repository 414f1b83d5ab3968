"""`parcours demo seed`: a realistic, reproducible data set that tells parcours' story, for the demo plan
(examples/moto-insurance.yaml).

Weeks of visitors from every lever (display, paid and organic search, social, e-mail, brokers, affiliation,
direct), campaigns with their daily costs, quote forms started and abandoned at every step, quotes with
phones; then the offline sales of the brokers' shops and of the call centre, written as the partners' files
are (the `courtiers` and `crc` import profiles' shapes, awkward lines included), some matching an online
journey and some not: customers who walked in, a phone typed by many (the shop's own), a sale without a phone
whose quote was made in the shop; and the call centre's PBX log (the `asterisk` profile's shape): the buyers'
calls before its sales, some missed first, and calls from numbers never seen online. The same seed gives the
same data (relative to `until`). Four weeks: a
collector refuses events made more than --max-event-age (30 days) before it receives them.

Mrs X is in it, by name (docs/reconciliation.md): visitor `mrs-x` clicks the display campaign moto-spring,
completes the quote form and leaves her phone (06 12 34 56 78) with quote Q-MRSX42; twelve days later she
signs contract MA-MRSX-0042 in broker B042's shop, Lyon Part-Dieu, with adviser Sophie Marchand. Two touches,
as the brief tells it: her sale is display's under first touch, B042's shop's under last touch, half each
under position-based.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
import uuid
import zlib
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from collector import ingest
from collector.clock import TimeBounds
from collector.storage import Store
from tagplan import CompiledPlan
from tagplan.phone import e164

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
SITE = "http://127.0.0.1:8000/demo/"
UAS = {
    "desktop": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    "mobile": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
              "Version/17.5 Mobile/15E148 Safari/604.1",
    "android": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 "
               "Mobile Safari/537.36",
}
STEPS = ("vehicle", "rider", "coverage", "contact")
GO_ON = (0.72, 0.78, 0.82, 0.88)
"""Of the visitors who reach a step, those who complete it (the last: who submit once the step is done)."""
SHOP_PHONE = "04 72 00 00 00"
"""A broker shop's own number, typed by customers who keep theirs: left out of persons as implausible."""
MRS_X = {"visitor": "mrs-x", "phone": "06 12 34 56 78", "quote": "Q-MRSX42", "contract": "MA-MRSX-0042"}

# lever -> (share of landings, URL parameters, referrer, campaign)
LANDINGS = (
    ("display", 0.22, "utm_source=display&utm_medium=cpm&utm_campaign=moto-spring", "", "moto-spring"),
    ("search_paid", 0.18, "utm_source=google&utm_medium=cpc&utm_campaign=moto-marque&gclid={click}",
     "https://www.google.fr/", "moto-marque"),
    ("search_organic", 0.16, "", "https://www.google.fr/", ""),
    ("social", 0.10, "utm_source=instagram&utm_medium=social&utm_campaign=moto-reels&fbclid={click}",
     "https://l.instagram.com/", "moto-reels"),
    ("email", 0.06, "utm_source=newsletter&utm_medium=email&utm_campaign=newsletter-rentree", "", "newsletter-rentree"),
    ("broker", 0.12, "courtier={broker}", "https://www.comparamoto.example/", ""),
    ("affiliation", 0.05, "courtier=A310", "https://www.moto-station.example/", ""),
    ("direct", 0.11, "", "", ""),
)
DAILY_COST = {("display", "moto-spring"): 410.0, ("search_paid", "moto-marque"): 190.0,
              ("social", "moto-reels"): 95.0, ("email", "newsletter-rentree"): 0.0}
SHOPS = (  # broker, name, lever, shop, network, advisers
    ("B042", "Comparamoto", "broker", "Lyon Part-Dieu", "Réseau Rhône", ("Sophie Marchand", "Julien Roux")),
    ("B107", "Assurland Moto", "broker", "Grenoble centre", "Réseau Alpes", ("Hélène Robin-Dufresne",)),
    ("B017", "Cabinet Benali", "broker", "Villeurbanne", "Réseau Rhône", ("Karim Benali",)),
    ("B103", "Moto Assur Annecy", "broker", "Annecy", "Réseau Alpes", ("Claire Favre",)),
)
AGENTS = (("CRC-201", "Nadia Lefort"), ("CRC-204", "Thomas Girard"), ("CRC-207", "Inès Haddad"))
PRODUCTS = (("Moto tous risques", 520, 980), ("Moto tiers", 210, 390), ("Scooter 125 tiers", 150, 260),
            ("Moto tiers + vol", 330, 560))
FORMULAS = ("tiers", "tiers_vol", "tous_risques")


@dataclass
class Sale:
    contract: str
    when: dt.datetime
    channel: str
    phone: str | None
    quote: str | None
    premium: Decimal
    product: str
    seller: tuple[str, str, str]
    """(broker or agent id, adviser name, shop)"""


@dataclass
class Dataset:
    """Events to send (user agent, wire event), and the partners' files, name -> bytes."""

    events: list[tuple[str, dict]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    visitors: int = 0
    sales: int = 0


def generate(*, seed: int = 42, visitors: int = 20_000, days: int = 28, until: dt.date | None = None) -> Dataset:
    """The data set; see the module docstring."""
    rng = random.Random(seed)
    end = dt.datetime.combine(until or dt.date.today(), dt.time(20, 0), PARIS)
    if until is None:  # nothing after now
        end = min(end, dt.datetime.now(PARIS).replace(microsecond=0))
    until = end.date()
    start = end - dt.timedelta(days=days)
    out = Dataset(visitors=visitors)
    used_phones = {MRS_X["phone"].replace(" ", "")}
    quotes: list[tuple[str, str, str, dt.datetime]] = []  # (visitor, phone, quote id, time)
    n = 0

    def ids() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    def phone() -> str:
        while True:  # a mobile number of a range in use in metropolitan France (phonenumbers knows which): not
            # an overseas one (0693…, Réunion's), which +33 or 0033 would not reach
            number = f"0{rng.choice('67')}{rng.randrange(10**8):08d}"
            if number not in used_phones and (e164(number, "FR") or "").startswith("+33"):
                used_phones.add(number)
                return number

    def quote_id() -> str:
        nonlocal n
        n += 1
        return f"Q-{n:05d}{rng.choice('ABCDEFGHJKMNPQRSTUVWXYZ')}"

    def visit(vid, when, device, landing, captured, *, steps_done=-1, submit=None) -> None:
        """One session's events: page view, the landing's touch, steps, submit or abandon."""
        sid, url = ids(), SITE + (f"?{landing[2]}" if landing[2] else "")
        ua = UAS[device]
        t = when
        seq = 0

        def event(e, **kw):
            nonlocal seq
            seq += 1
            body = {"id": ids(), "e": e, "t": int(t.timestamp() * 1000), "q": seq, "vid": vid, "sid": sid,
                    "url": url, "ref": landing[3], **({"c": dict(captured)} if captured else {}), **kw}
            out.events.append((ua, body))

        event("page_view")
        if landing[2]:
            event("touch", c=dict(_params(landing[2])))
        for i, step in enumerate(STEPS[: steps_done + 1]):
            t += dt.timedelta(seconds=rng.randint(20, 140))
            props = {"vehicle": {"engine_cc": rng.choice([125, 500, 650, 750, 900, 1200]),
                                 "variant": "ab"[zlib.crc32(vid.encode()) % 2]},  # A/B: a visitor keeps hers
                     "rider": {"licence_years": rng.randint(0, 30)},
                     "coverage": {"monthly_price": round(rng.uniform(14, 70), 2)}}.get(step, {})
            event("form_step", f="moto_quote", s=step, p=props, dt=rng.randint(15_000, 140_000))
        if submit:
            t += dt.timedelta(seconds=rng.randint(5, 40))
            event("form_submit", f="moto_quote", p={"quote_id": submit[1], "phone": submit[0],
                                                    "formula": rng.choice(FORMULAS)})
        elif steps_done >= 0:  # started and left: the tag sends the abandon as the page goes
            t += dt.timedelta(seconds=rng.randint(30, 300))
            event("form_abandon", f="moto_quote", s=STEPS[min(steps_done + 1, len(STEPS) - 1)])

    # ---- Mrs X, by name
    x_quote_at = end - dt.timedelta(days=14, hours=3)
    x_land = next(l for l in LANDINGS if l[0] == "display")
    captured = _params(x_land[2])
    visit(MRS_X["visitor"], x_quote_at, "mobile", x_land, captured, steps_done=3,
          submit=(MRS_X["phone"], MRS_X["quote"]))
    quotes.append((MRS_X["visitor"], MRS_X["phone"], MRS_X["quote"], x_quote_at))
    sales = [Sale(MRS_X["contract"], x_quote_at + dt.timedelta(days=12, hours=1, minutes=17), "shop",
                  MRS_X["phone"], MRS_X["quote"], Decimal("702.40"), "Moto tous risques",
                  ("B042", "Sophie Marchand", "Lyon Part-Dieu"))]

    # ---- everyone else
    weights = [l[1] for l in LANDINGS]
    for i in range(visitors):
        vid = ids()
        first = start + dt.timedelta(seconds=rng.uniform(0, days * 86400))
        first = first.replace(hour=rng.choice([8, 9, 11, 12, 13, 14, 18, 19, 20, 21, 22]), minute=rng.randrange(60))
        if first > end:
            first -= dt.timedelta(days=1)
        landing = rng.choices(LANDINGS, weights)[0]
        params = landing[2].format(click=ids().replace("-", "")[:20],
                                   broker=rng.choice(["B042", "B042", "B107"]))
        landing = (landing[0], landing[1], params, landing[3], landing[4])
        captured = _params(params)
        device = rng.choices(list(UAS), (0.45, 0.35, 0.20))[0]
        # how far into the form: -1 none, 0..3 the last step completed
        steps_done = -1
        if rng.random() < (0.55 if landing[0] in ("broker", "affiliation", "search_paid") else 0.38):
            steps_done = 0
            while steps_done < 3 and rng.random() < GO_ON[steps_done]:
                steps_done += 1
        submits = steps_done == 3 and rng.random() < GO_ON[3]
        shop_typed = submits and rng.random() < 0.012
        submit = None
        if submits:
            written = SHOP_PHONE if shop_typed else _written(phone(), rng)
            submit = (written, quote_id())
            quotes.append((vid, written, submit[1], first))
        before = first - dt.timedelta(days=rng.uniform(1, 12), hours=rng.uniform(0, 6))
        if submit and rng.random() < 0.45 and before > start:  # came before, from another lever
            earlier = rng.choices(LANDINGS, weights)[0]
            earlier = (earlier[0], earlier[1], earlier[2].format(click=ids().replace("-", "")[:20], broker="B042"),
                       earlier[3], earlier[4])
            visit(vid, before, device, earlier, _params(earlier[2]), steps_done=rng.choice([-1, -1, 0, 1]))
        visit(vid, first, device, landing, captured, steps_done=3 if submits else steps_done, submit=submit)
        for _ in range(rng.choices((0, 1, 2), (0.62, 0.28, 0.10))[0]):  # later sessions
            later = first + dt.timedelta(days=rng.uniform(0.2, 12), minutes=rng.randrange(600))
            if later < end:
                back = rng.choices(LANDINGS, (0.1, 0.15, 0.25, 0.05, 0.1, 0.05, 0.02, 0.28))[0]
                back = (back[0], back[1], back[2].format(click=ids().replace("-", "")[:20], broker="B042"),
                        back[3], back[4])
                visit(vid, later, device, back, {**captured, **_params(back[2])})
        if submit and not shop_typed and rng.random() < 0.06:  # cookies cleared, or another device
            other, when = ids(), first + dt.timedelta(days=rng.uniform(1, 6))
            if when < end:
                visit(other, when, "desktop", LANDINGS[-1], {})
                out.events.append((UAS["desktop"], {"id": ids(), "e": "identify", "t": int(when.timestamp() * 1000) + 5000,
                                                    "vid": other, "sid": ids(), "url": SITE, "p": {"phone": submit[0]}}))

    # ---- offline sales: some quotes signed in a shop or by the call centre, and walk-ins
    for vid, written, qid, when in quotes[1:]:
        if written == SHOP_PHONE:
            if rng.random() < 0.5 and when + dt.timedelta(days=10) < end:
                sales.append(_sale(rng, "shop", when + dt.timedelta(days=rng.uniform(2, 9)), SHOP_PHONE, None))
            continue
        if rng.random() >= 0.26:
            continue
        channel = "shop" if rng.random() < 0.56 else "call_centre"
        signed = when + dt.timedelta(days=rng.uniform(1, 21), hours=rng.uniform(0, 4))
        if signed > end:
            continue
        keep_phone = rng.random() < (0.85 if channel == "shop" else 0.8)
        keep_quote = rng.random() < (0.55 if channel == "shop" else 0.9)
        if not keep_phone and not keep_quote:
            keep_quote = True
        sales.append(_sale(rng, channel, signed, written if keep_phone else None, qid if keep_quote else None))
    walk_ins = max(1, len(sales) // 3)
    for _ in range(walk_ins):  # customers who never came online, and quotes made in the shop's own CRM
        signed = start + dt.timedelta(seconds=rng.uniform(0, days * 86400))
        if rng.random() < 0.85:
            sales.append(_sale(rng, "shop", signed, _written(phone(), rng), None))
        else:
            sales.append(_sale(rng, "shop", signed, None, f"Q-SHOP{rng.randrange(10**5):05d}"))
    sales = [sales[0], *(s for s in sales[1:] if s.when < end)]
    for i, sale in enumerate(sales[1:], start=1):
        sale.contract = f"{'MA' if sale.channel == 'shop' else 'CRC'}-{sale.when:%Y}-{104000 + i:07d}"
    out.sales = len(sales)
    out.files.update(_broker_files(rng, [s for s in sales if s.channel == "shop"]))
    out.files.update(_crc_files([s for s in sales if s.channel == "call_centre"]))
    # Its own draws, as the call log's: the rest of the data set unchanged. Mrs X's sale stands.
    out.files["resiliations-courtiers.csv"] = _cancellations(random.Random(seed + 2),
                                                             [s for s in sales[1:] if s.channel == "shop"], end)
    out.files["appels-crc.csv"] = _call_log(random.Random(seed + 1), sales, start)  # its own draws: the rest unchanged
    out.files["couts-regie.csv"] = _costs(rng, start.date(), until)
    out.files["courtiers-reseau.csv"] = _brokers_file()
    out.events.sort(key=lambda e: e[1]["t"])
    return out


def _params(query: str) -> dict[str, str]:
    return dict(p.split("=", 1) for p in query.split("&") if "=" in p)


def _written(number: str, rng: random.Random) -> str:
    """A phone as people type it: spaced, dotted, international, with the (0)…"""
    d = number
    pairs = " ".join(d[i:i + 2] for i in range(0, 10, 2))
    return rng.choice([pairs, d, pairs.replace(" ", "."), f"+33 {d[1]} {' '.join(d[i:i + 2] for i in range(2, 10, 2))}",
                       f"0033{d[1:]}", f"+33 (0){d[1]} {' '.join(d[i:i + 2] for i in range(2, 10, 2))}"])


def _sale(rng: random.Random, channel: str, when: dt.datetime, phone: str | None, quote: str | None) -> Sale:
    product, low, high = rng.choice(PRODUCTS)
    premium = Decimal(rng.randrange(low * 100, high * 100)) / 100
    if channel == "shop":
        broker, _, _, shop, _, advisers = rng.choices(SHOPS, (0.45, 0.2, 0.2, 0.15))[0]
        seller = (broker, rng.choice(advisers), shop)
    else:
        agent = rng.choice(AGENTS)
        seller = (agent[0], agent[1], "")
    hour = rng.randint(9, 18) if channel == "shop" else rng.randint(8, 19)
    when = when.astimezone(PARIS).replace(hour=hour, minute=rng.randrange(60), second=0, microsecond=0)
    return Sale("", when, channel, phone, quote, premium, product, seller)


def _months(sales: list[Sale]) -> dict[str, list[Sale]]:
    out: dict[str, list[Sale]] = {}
    for sale in sorted(sales, key=lambda s: s.when):
        out.setdefault(f"{sale.when:%Y-%m}", []).append(sale)
    return out


def _broker_files(rng: random.Random, sales: list[Sale]) -> dict[str, bytes]:
    """The broker network's monthly exports, as ventes-courtiers-2026-10.csv is: BOM, `;`, CRLF, French
    headers, dd/mm/yyyy HH:MM in Paris time, decimal comma with a space for thousands, a few bad lines."""
    files = {}
    header = "N° contrat;Date signature;Code courtier;Conseiller;Agence;Produit;Prime annuelle TTC;Devise;" \
             "Téléphone client;Réf. devis"
    for month, rows in _months(sales).items():
        lines = [header]
        for sale in rows:
            premium = f"{sale.premium:,.2f}".replace(",", " ").replace(".", ",")
            shop = f'"{sale.seller[2]}; boutique"' if rng.random() < 0.03 else sale.seller[2]
            lines.append(";".join([sale.contract, f"{sale.when:%d/%m/%Y %H:%M}", sale.seller[0], sale.seller[1], shop,
                                   sale.product, premium, "EUR", sale.phone or "", sale.quote or ""]))
            if rng.random() < 0.03:  # the same contract again, its premium corrected
                fixed = f"{sale.premium + Decimal('17.60'):,.2f}".replace(",", " ").replace(".", ",")
                lines.append(lines[-1].replace(f";{premium};", f";{fixed};"))
                sale.premium += Decimal("17.60")
        lines.append(f"MA-{month[:4]}-9999901;31/09/{month[:4]} 12:00;B999;Inconnu;?;Moto tiers;abc;EUR;06 11 22 33 44;")
        lines.append(f"MA-{month[:4]}-9999902;02/{month[5:]}/{month[:4]} 10:00;B042;Julien Roux;Lyon Part-Dieu;"
                     "Moto tiers;289,90;EUR;0612;")
        files[f"ventes-courtiers-{month}.csv"] = ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()
    return files


def _cancellations(rng: random.Random, sales: list[Sale], end: dt.datetime) -> bytes:
    """The broker network's withdrawals and cancellations, as examples/samples/resiliations-courtiers-2026-10.csv
    is (the example plan's `resiliations` profile): about one shop sale in twenty, 2 to 14 days after its
    signature, and a contract the sales files never had."""
    lines = ["N° contrat;Motif;Date d'effet"]
    for sale in sales:
        if rng.random() < 0.05:
            when = sale.when + dt.timedelta(days=rng.randint(2, 14))
            if when < end:
                reason = "Rétractation (14 jours)" if rng.random() < 0.7 else "Annulation"
                lines.append(f"{sale.contract};{reason};{when:%d/%m/%Y}")
    lines.append(f"MA-{end:%Y}-9999903;Rétractation (14 jours);{end:%d/%m/%Y}")
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()


def _crc_files(sales: list[Sale]) -> dict[str, bytes]:
    """The call centre CRM's exports, as ventes-crc-2026-10.json is: nested, ISO times with their offset."""
    files = {}
    for month, rows in _months(sales).items():
        doc = [{"contract": {"id": s.contract, "signed_at": s.when.isoformat(), "product": s.product,
                             "premium": {"amount": float(s.premium), "currency": "EUR"}},
                "customer": {"mobile": s.phone, "quote_ref": s.quote, "ad_consent": _consents(s.contract)},
                "agent": {"id": s.seller[0], "name": s.seller[1]}, "channel": "call_centre"} for s in rows]
        files[f"ventes-crc-{month}.json"] = json.dumps(doc, indent=1, ensure_ascii=False).encode()
    return files


def _call_log(rng: random.Random, sales: list[Sale], start: dt.datetime) -> bytes:
    """The call centre's PBX log, as appels-crc-2026-10.csv is (Asterisk's Master.csv: no header, local
    times): before most call-centre sales whose buyer left a phone, the buyer's call to the call centre's
    number, answered (some first missed); and calls from numbers never seen online, and anonymous ones."""
    calls: list[tuple[dt.datetime, str, str, int]] = []  # (start, caller, disposition, seconds)
    for sale in sales:
        caller = e164(sale.phone, "FR") if sale.phone and sale.channel == "call_centre" else None
        if not caller or rng.random() < 0.2:
            continue
        caller = caller if rng.random() < 0.5 else "0" + caller[3:]  # as the trunk passes it: +33… or 0…
        at = sale.when - dt.timedelta(hours=rng.uniform(0.5, 48))
        if rng.random() < 0.3:
            calls.append((at - dt.timedelta(hours=rng.uniform(1, 6)), caller, "NO ANSWER", 30))
        calls.append((at, caller, "ANSWERED", rng.randint(120, 1500)))
    for _ in range(max(2, len(calls) // 4)):  # never seen online: no journey to join
        caller = rng.choice([f"0{rng.choice('67')}{rng.randrange(10**8):08d}", "anonymous"])
        at = start + dt.timedelta(seconds=rng.uniform(0, 20 * 86400))
        calls.append((at, caller, rng.choice(["ANSWERED", "ANSWERED", "BUSY"]), rng.randint(20, 900)))
    lines = []
    for i, (at, caller, disposition, seconds) in enumerate(sorted(calls)):
        local, agent = at.astimezone(PARIS), 201 + 3 * rng.randrange(3)
        answered = disposition == "ANSWERED"
        when = local.strftime("%Y-%m-%d %H:%M:%S")
        answer = (local + dt.timedelta(seconds=8)).strftime("%Y-%m-%d %H:%M:%S") if answered else ""
        end = (local + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S")
        fields = ["", caller, "0970000000", "from-trunk", f'"" <{caller}>', f"SIP/trunk-{i:06x}",
                  f"SIP/{agent}-{i:06x}" if answered else "", "Dial", f"SIP/{agent},30", when, answer, end,
                  str(seconds), str(seconds - 8 if answered else 0), disposition, "DOCUMENTATION",
                  f"{int(at.timestamp())}.{1000 + i}", ""]
        lines.append(",".join('"' + f.replace('"', '""') + '"' for f in fields))
    return ("\n".join(lines) + "\n").encode()


def _consents(contract: str) -> bool:
    """Whether the customer agreed, when signing, that the sale be shared with ad networks: four in five, by the
    contract's id (drawing it from the generator would change every later draw of the data set)."""
    return zlib.crc32(contract.encode()) % 5 != 0


def _costs(rng: random.Random, start: dt.date, until: dt.date) -> bytes:
    """The ad platform's daily costs, as couts-campagnes-2026-10.csv is: English headers, EUR in a header."""
    lines = ["Day,Channel,Campaign,Cost (EUR)"]
    day = start
    while day <= until:
        for (lever, campaign), base in DAILY_COST.items():
            amount = base * rng.uniform(0.8, 1.2) if base else (180.0 if day.weekday() == 1 else 0.0)
            if amount:
                lines.append(f"{day.isoformat()},{lever},{campaign},{amount:.2f}")
        day += dt.timedelta(days=1)
    return ("\n".join(lines) + "\n").encode()


def _brokers_file() -> bytes:
    lines = ["broker_id,name,lever,shop,network"]
    lines += [f"{b},{name},{lever},{shop},{network}" for b, name, lever, shop, network, _ in SHOPS]
    lines += ["D001,Régie Display Moto,display,,", "A310,Moto-Station Partenaires,affiliation,,"]
    return ("\n".join(lines) + "\n").encode()


PROFILE = {"ventes-courtiers": ("conversions", "courtiers"), "ventes-crc": ("conversions", "crc"),
           "couts-regie": ("costs", "regie"), "courtiers-reseau": ("brokers", None),
           "appels-crc": ("calls", "asterisk"), "resiliations-courtiers": ("cancellations", "resiliations")}


def import_order(files: dict[str, bytes]) -> list[tuple[str, str, str | None]]:
    """(file, what it is, profile) in the order to import: brokers, costs, the sales, their cancellations, then
    the calls."""
    out = []
    for name in files:
        stem = next(s for s in PROFILE if name.startswith(s))
        out.append((name, *PROFILE[stem]))
    rank = {"brokers": 0, "costs": 1, "conversions": 2, "cancellations": 3, "calls": 4}
    return sorted(out, key=lambda x: (rank[x[1]], x[0]))


def batches(events: list[tuple[str, dict]], size: int = 400) -> Iterator[tuple[str, bytes]]:
    """The events as the tag would POST them: JSON batches of one browser (user agent), sent now (the
    collector dates each event by how long before the batch it was made, so past events keep their time)."""
    by_agent: dict[str, list[dict]] = {}
    for agent, event in events:
        by_agent.setdefault(agent, []).append(event)
    for agent, items in by_agent.items():
        for i in range(0, len(items), size):
            yield agent, json.dumps({"sent": int(time.time() * 1000), "events": items[i:i + size]}).encode()


def store_events(store: Store, plan: CompiledPlan, secret: bytes, events: list[tuple[str, dict]]) -> int:
    """The events through the collector's own ingest (validation, enrichment, the phone hashed), written
    straight to ClickHouse: when no collector runs. A backfill asked for: events as old as the data set
    are taken (a collector refuses them past its --max-event-age). How many rows."""
    now = int(time.time() * 1000)
    oldest = min((e["t"] for _, e in events), default=now)
    bounds = TimeBounds(max_age_days=max(30, (now - oldest) // 86_400_000 + 2))
    written = 0
    for agent, body in batches(events):
        out = ingest.ingest(body, ingest.Request(now, agent, "127.0.0.0"), plan, secret, bounds=bounds)
        store.insert_rows("events", out.events)
        store.insert_rows("rejected_events", out.rejected)
        written += len(out.events) + len(out.rejected)
    return written
