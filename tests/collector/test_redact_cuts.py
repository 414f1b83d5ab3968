"""A value cut to its column's size is redacted first, then cut; header values are read as UTF-8; a URL
encoded up to three times is read decoded (outside privacy probe: a cut left 9 of 10 digits of a phone, a
latin-1 reading hid full-width digits, a twice-encoded number survived). On the real app and engine."""

from __future__ import annotations

import json
import uuid
from urllib.parse import quote

from collector import redact
from collector.redact import Redactor
from tests.collector.helpers import counts, event, post, rows
from tests.collector.segment.test_api import basic, iso, key_for, now

FR = Redactor("FR")
PHONES = ("0736993563", "0693115287", "0671829322", "0671829332", "0671829304")
"""The numbers the tests write; no five of their digits in a row may be stored."""


def no_phone(*values: str) -> None:
    for value in values:
        digits = "".join(c for c in redact.fold(value) if c.isdigit())
        assert not any(phone[i:i + 5] in digits for phone in PHONES for i in range(6)), value


def test_a_long_user_agent_is_redacted_before_it_is_cut(client, store):
    ua = "M" * 499 + "07 36 99 35 63"
    assert counts(post(client, event(), headers={"user-agent": ua})) == {"accepted": 1, "rejected": 0}
    client.get("/collect?e=page_view&vid=v9", headers={"user-agent": ua})
    stored = [r["user_agent"] for r in rows(store, "SELECT user_agent FROM parcours.events")]
    assert stored == ["M" * 499 + "[phone]"] * 2


def test_a_user_agent_and_a_referer_are_read_as_utf8(client, store):
    for phone in ("\uff10\uff16 \uff17\uff11 \uff18\uff12 \uff19\uff13 \uff13\uff12", "06\u00a071\u00a082\u00a093\u00a032"):
        headers = {"user-agent": ("Mozilla/5.0 " + phone).encode()}
        assert counts(post(client, event(), headers=headers)) == {"accepted": 1, "rejected": 0}
        referer = ("https://www.motoassur.example/devis?tel=" + phone).encode()
        client.get("/collect?e=page_view&vid=v9", headers={**headers, "referer": referer})
    got = rows(store, "SELECT user_agent, url FROM parcours.events ORDER BY received_at")
    assert {r["user_agent"] for r in got} == {"Mozilla/5.0 [phone]"}
    assert "https://www.motoassur.example/devis?tel=[phone]" in {r["url"] for r in got}
    # A header that is no UTF-8 is still read, as latin-1.
    assert counts(post(client, event(), headers={"user-agent": "Caf\xe9/1.0".encode("latin-1")}))["accepted"] == 1
    assert "Caf\xe9/1.0" in {r["user_agent"] for r in rows(store, "SELECT user_agent FROM parcours.events")}


def test_a_long_referer_is_redacted_before_it_is_cut(client, store):
    base = "https://www.motoassur.example/devis?q="
    url = base + "a" * (2040 - len(base) - 5) + "&tel=06.93.11.52.87"
    assert url[2040:2048] == "06.93.11"  # the number straddles the 2048th character
    client.get("/collect?e=page_view&vid=v9", headers={"referer": url})
    (row,) = rows(store, "SELECT url FROM parcours.events")
    no_phone(row["url"])


def test_a_rejected_events_name_and_id_are_redacted_before_they_are_cut(client, store):
    bad = event("e" * 115 + "06 93 11 52 87", id="i" * 120 + "06 93 11 52 87")
    assert counts(post(client, bad)) == {"accepted": 0, "rejected": 1}
    (row,) = rows(store, "SELECT event, event_id, reasons FROM parcours.rejected_events")
    no_phone(row["event"], row["event_id"], *row["reasons"])
    assert row["event"].startswith("e" * 115 + "[pho")


def test_a_reason_quoting_a_long_value_is_redacted_before_it_is_cut(client, store):
    name = "x" * 52 + "06 93 11 52 87"
    bad = event("form_step", f="moto_quote", s="s" * 55 + "06 93 11 52 87")
    submit = event("form_submit", f="moto_quote", p={"quote_id": "Q-1", "formula": "tiers", name: "1"})
    post(client, bad, submit, event("z" * 55 + "06 93 11 52 87"), event(f="f" * 55 + "06 93 11 52 87"))
    for row in rows(store, "SELECT reasons FROM parcours.rejected_events"):
        no_phone(*row["reasons"])


def test_segment_values_are_redacted_before_they_are_cut(client, store):
    key = key_for(client)
    url = "https://www.motoassur.example/devis?utm_term=x&q=" + "a" * 2030 + "06 93 11 52 87"
    page = {"type": "page", "anonymousId": "v-web-1", "messageId": "m" * 120 + "06 93 11 52 87",
            "userId": "u" * 250 + "06 93 11 52 87", "timestamp": iso(now()),
            "context": {"page": {"url": url, "referrer": url}, "userAgent": "M" * 500 + "06 93 11 52 87",
                        "campaign": {"term": "t" * 505 + "06 93 11 52 87", "source": "s" * 505 + "06 93 11 52 87"}}}
    bad = {"type": "x" * 55 + "06 93 11 52 87", "anonymousId": "v", "messageId": str(uuid.uuid4())}
    late = {"type": "track", "event": "Contract Signed", "anonymousId": "v", "messageId": str(uuid.uuid4()),
            "timestamp": "y" * 55 + "06 93 11 52 87"}
    body = {"batch": [page, bad, late], "sentAt": iso(now())}
    r = client.post("/v1/batch", content=json.dumps(body), headers=basic(key))
    assert r.status_code == 200, r.text
    (row,) = rows(store, "SELECT url, referrer, user_agent, utm_term, utm_source, user_id, message_id "
                         "FROM parcours.events")
    no_phone(*row.values())
    assert len(row["url"]) == 2048 and len(row["user_agent"]) <= 512
    for rejected in rows(store, "SELECT event, reasons FROM parcours.rejected_events"):
        no_phone(rejected["event"], *rejected["reasons"])


def test_a_url_encoded_twice_or_three_times_is_read_decoded():
    inner = quote("/devis?tel=" + quote("06 71 82 93 22"), safe="")
    url = "http://host/login?next=" + inner
    assert FR.url(url) == "http://host/login?next=/devis%3Ftel%3D[phone]"
    assert not FR.plain(url)
    three = quote(quote(quote("appelez le 06 71 82 93 22 svp")))
    assert FR.text(three) == "appelez%252520le%252520[phone]%252520svp"  # replaced where it is written
    assert FR.text("x " + quote(quote("06 71 82 93 22"))) == "x [phone]"
    assert FR.keyed(quote(quote("06 71 82 93 22")), b"k") == FR.keyed("06 71 82 93 22", b"k")
    # Four levels are not read (the cost stays linear); what is not personal is left as it was.
    assert FR.text("100%252525 et 2026-11-20%2520") == "100%252525 et 2026-11-20%2520"


def test_a_url_encoded_twice_is_stored_redacted(client, store):
    url = "http://www.motoassur.example/login?next=" + quote("/devis?tel=" + quote("06 71 82 93 22"), safe="")
    assert counts(post(client, event(url=url, ref=url))) == {"accepted": 1, "rejected": 0}
    (row,) = rows(store, "SELECT url, referrer FROM parcours.events")
    assert row["url"] == row["referrer"] == "http://www.motoassur.example/login?next=/devis%3Ftel%3D[phone]"


def test_a_huge_header_costs_a_bounded_redaction(client, store, monkeypatch):
    """An outside probe's finding: headers are redacted on the event loop, and the redaction's cost grows faster
    than its text: a 500 KB User-Agent of `0-0-…` held every other request for 74 s, a 100 KB Origin or pixel
    Referer for 4 s. Only the first characters a column keeps (and a margin) are read; still no phone stored."""
    seen: list[int] = []
    real = redact._phones

    def counted(value, region):
        seen.append(len(value))
        return real(value, region)

    monkeypatch.setattr(redact, "_phones", counted)
    bound = 2048 + 2 * redact.CLIP_MARGIN
    junk = "0-" * 15_000  # 30 KB
    phone = "M" * 505 + "07 36 99 35 63 "
    for i, head in enumerate((phone, "")):
        ua = head + junk + str(i)  # each its own (the user agent's redaction is cached)
        assert counts(post(client, event(), headers={"user-agent": ua})) == {"accepted": 1, "rejected": 0}
        client.get("/collect?e=page_view&vid=v9", headers={"user-agent": ua + "p",
                                                             "referer": "https://www.motoassur.example/?q=" + phone + ua})
        refused = post(client, event(), headers={"origin": "https://" + phone + ua})
        assert refused.status_code == 403
    assert seen and max(seen) <= bound, max(seen)
    got = rows(store, "SELECT user_agent, url FROM parcours.events")
    assert len(got) == 4
    for row in got:
        no_phone(row["user_agent"], row["url"])
        assert len(row["user_agent"]) <= 512 and len(row["url"]) <= 2048
    for row in rows(store, "SELECT reasons, user_agent FROM parcours.rejected_events"):
        no_phone(row["user_agent"], *row["reasons"])


def test_a_header_whose_redaction_shrinks_below_the_margin_keeps_no_part_of_the_number_cut(client, store):
    """A regression probe's finding: a header of numbers written long (+33 (0)6 12 34 56 78, 21 characters, each
    [phone]) redacts to fewer than CLIP_MARGIN characters, and the cut kept all but the last few of them: 1,022
    characters of a 512-character column, ending with the part of a number the first cut broke (07 36 99)."""
    window = 512 + 2 * redact.CLIP_MARGIN
    head = "+33 (0)6 12 34 56 78 " * 118 + "0612345678 "
    ua = head + "x" * (window - 10 - len(head)) + " 07 36 99 35 63 " + "q" * 3000
    assert ua[window - 10:window] == " 07 36 99 "  # the number straddles the redacted window's end
    assert redact.clipped(ua, 512, FR.user_agent) == ""
    assert counts(post(client, event(), headers={"user-agent": ua})) == {"accepted": 1, "rejected": 0}
    (row,) = rows(store, "SELECT user_agent FROM parcours.events")
    no_phone(row["user_agent"])
    assert len(row["user_agent"]) <= 512


def test_a_phone_number_sent_as_a_json_number_is_redacted(client, store):
    """An outside probe's finding: a phone written as a JSON number (33671829304: what an `<input type="number">`
    makes of +33 6 71 82 93 04) was stored as it came, in a valid event's number property and in a rejected event's
    raw payload, where the same digits as text were redacted. Prices, times and a bare 612345678 stay."""
    price = event("form_step", f="moto_quote", s="coverage", vid="v-a", p={"monthly_price": 33671829304})
    kept = event("form_step", f="moto_quote", s="coverage", vid="v-b", p={"monthly_price": 612345678})
    bad = event("page_view", p={"tel": 33671829304, "n": [33671829322, 1795820399000, 12.5]})
    assert counts(post(client, price, kept, bad)) == {"accepted": 2, "rejected": 1}
    got = rows(store, "SELECT visitor_id, properties FROM parcours.events ORDER BY visitor_id")
    assert [json.loads(r["properties"])["monthly_price"] for r in got] == ["[phone]", 612345678]
    (raw,) = [json.loads(r["raw"]) for r in rows(store, "SELECT raw FROM parcours.rejected_events")]
    assert raw["p"] == {"tel": "[phone]", "n": ["[phone]", 1795820399000, 12.5]}
