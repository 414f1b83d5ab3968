"""GET /collect: one event from a page without JavaScript, as a 1x1 GIF."""

from __future__ import annotations

import hashlib
import hmac
import uuid

from collector.pixel import GIF
from collector.wire import pixel_event
from tests.collector.helpers import rows
from tests.conftest import SECRET

PAGE = "https://www.motoassur.example/devis?courtier=B042&utm_medium=cpm&other=1"


def test_the_query_string_mapping():
    params = [("e", "form_step"), ("t", "1795000000000"), ("q", "x"), ("f", "moto_quote"), ("s", "rider"),
              ("c.courtier", "B042"), ("p.slot", "night"), ("p.", "ignored"), ("zz", "ignored")]
    assert pixel_event(params) == {"e": "form_step", "t": 1795000000000, "q": "x", "f": "moto_quote", "s": "rider",
                                   "c": {"courtier": "B042"}, "p": {"slot": "night"}}


def test_a_pixel_page_view_lands_with_the_referer_as_its_page(client, store):
    r = client.get("/collect?e=page_view&vid=v9", headers={"referer": PAGE})
    assert r.status_code == 200 and r.headers["content-type"] == "image/gif" and r.content == GIF
    assert r.headers["cache-control"] == "no-store, max-age=0"
    (row,) = rows(store, "SELECT event, url, visitor_id, broker_id, broker_name, lever, utm_medium, captured "
                         "FROM parcours.events")
    assert row == {"event": "page_view", "url": PAGE, "visitor_id": "v9", "broker_id": "B042",
                   "broker_name": "Comparamoto", "lever": "broker", "utm_medium": "cpm", "captured": {"utm_medium": "cpm"}}


def test_pixel_properties_are_typed_by_the_plan(client, store):
    eid = str(uuid.uuid4())
    client.get("/collect", params={"e": "form_submit", "id": eid, "f": "moto_quote", "p.quote_id": "Q-AB12",
                                   "p.phone": "06 12 34 56 78", "p.formula": "tiers", "url": PAGE})
    (row,) = rows(store, "SELECT toString(event_id) AS id, properties, phone_key FROM parcours.events")
    assert row["id"] == eid and row["properties"] == '{"quote_id":"Q-AB12","formula":"tiers"}'
    assert row["phone_key"] == hmac.new(SECRET, b"+33612345678", hashlib.sha256).hexdigest()


def test_an_invalid_pixel_event_is_stored_as_rejected_and_the_gif_still_returned(client, store):
    r = client.get("/collect?e=newsletter_signup&t=soon&p.phone=0612345678")
    assert r.status_code == 200 and r.content == GIF
    (rej,) = rows(store, "SELECT event, reasons, raw FROM parcours.rejected_events")
    assert rej["event"] == "newsletter_signup" and rej["reasons"] == ["client_ts: expected a time in milliseconds since 1970 (before 2100), got a string"]
    assert "0612345678" not in rej["raw"]
    assert rows(store, "SELECT count() AS n FROM parcours.events") == [{"n": 0}]


def test_a_pixel_without_an_event_name_is_rejected(client, store):
    assert client.get("/collect").content == GIF
    assert rows(store, "SELECT reasons FROM parcours.rejected_events") == [
        {"reasons": ["event: required"]}]


def test_a_head_request_is_not_an_event(client, store):
    assert client.head("/collect?e=page_view").status_code == 200
    assert rows(store, "SELECT count() AS n FROM parcours.events") == [{"n": 0}]


def _required(settings, tmp_path, exempt: str):
    import dataclasses

    from tests.conftest import EXAMPLE_PLAN
    path = tmp_path / "plan.yaml"
    path.write_text(EXAMPLE_PLAN.read_text().replace("\nconsent: exempt\n", f"\nconsent: {exempt}\n"))
    return dataclasses.replace(settings, plan=path)


def test_with_consent_required_a_pixel_stores_only_the_exempt_events(settings, store, tmp_path, caplog):
    """An outside tester's finding: with consent required, curl "/collect?e=page_view&url=…" stored the page view.
    A pixel can carry no consent: only the events the plan exempts are stored; the GIF is answered anyway."""
    import logging

    from collector.app import create_app
    from tests.conftest import Client
    caplog.set_level(logging.INFO, logger="parcours.collect")
    with Client(create_app(_required(settings, tmp_path, "required"))) as client:
        for query in ("e=page_view&vid=v1", "e=form_submit&f=moto_quote&p.quote_id=Q-AB12", "vid=v2",
                      "e=page_view&e=form_submit"):
            r = client.get(f"/collect?{query}", headers={"referer": PAGE})
            assert r.status_code == 200 and r.content == GIF, query
        metrics = client.get("/metrics").text
    assert rows(store, "SELECT count() AS n FROM parcours.events") == [{"n": 0}]
    assert rows(store, "SELECT count() AS n FROM parcours.rejected_events") == [{"n": 0}]
    assert "parcours_pixel_without_consent_total 4.0" in metrics
    assert "pixel event 'page_view' not stored: the plan requires consent" in caplog.text
    with Client(create_app(_required(settings, tmp_path, "{mode: required, exempt_events: [page_view]}"))) as client:
        assert client.get("/collect?e=page_view&vid=v1", headers={"referer": PAGE}).content == GIF
        assert client.get("/collect?e=form_submit&f=moto_quote", headers={"referer": PAGE}).content == GIF
    assert rows(store, "SELECT event FROM parcours.events") == [{"event": "page_view"}]


def test_with_consent_required_a_huge_pixel_event_name_costs_a_bounded_redaction(settings, store, tmp_path, monkeypatch):
    """An outside probe's finding: the event name a pixel not stored for want of consent is logged with was redacted
    whole on the event loop (30 KB of `0-0-…` in `e=`: 0.2 s, the cost growing faster than the text); only what
    the log line keeps (and a margin) is read now."""
    from collector import redact
    from collector.app import create_app
    from tests.conftest import Client
    seen: list[int] = []
    real = redact._phones
    monkeypatch.setattr(redact, "_phones", lambda value, region: seen.append(len(value)) or real(value, region))
    with Client(create_app(_required(settings, tmp_path, "required"))) as client:
        assert client.get("/collect?e=" + "0-" * 15_000, headers={"referer": PAGE}).content == GIF
    assert seen and max(seen) <= 64 + 2 * redact.CLIP_MARGIN


def test_the_query_string_is_read_as_a_urls_with_the_plus_of_an_international_number():
    from collector.pixel import query
    assert query(b"e=page_view&c.utm_term=moto+125&p.tel=+262692123456&p.x=%2B33%206&url=%FF%FE%80&flag") == [
        ("e", "page_view"), ("c.utm_term", "moto 125"), ("p.tel", "+262692123456"), ("p.x", "+33 6"),
        ("url", "\udcff\udcfe\udc80"), ("flag", "")]


def test_a_pixel_with_invalid_utf8_is_rejected_as_a_post_is_its_raw_bytes_kept(client, store):
    """An outside probe's finding: GET /collect?e=page_view&url=%FF%FE%80 was stored with url '���' (Starlette
    reads the query string with U+FFFD in place of bytes that are no UTF-8), where a POST rejects the event."""
    assert client.get("/collect?e=page_view&vid=v1&url=%FF%FE%80").content == GIF
    assert client.get("/collect?e=page_view&vid=v2&url=https%3A%2F%2Fx.example%2F%3Ftel%3D0671829304%FF").content == GIF
    assert rows(store, "SELECT count() AS n FROM parcours.events") == [{"n": 0}]
    kept = rows(store, "SELECT event, reasons, raw FROM parcours.rejected_events ORDER BY raw")
    assert [k["event"] for k in kept] == ["page_view", "page_view"]
    assert all(len(k["reasons"]) == 1 and k["reasons"][0].startswith("not valid UTF-8 text (byte ") for k in kept)
    assert '"url":"\\xff\\xfe\\x80"' in kept[0]["raw"]
    assert '"url":"https://x.example/?tel=[phone]\\xff"' in kept[1]["raw"] and "0671829304" not in kept[1]["raw"]


def test_a_pixels_phone_written_with_its_plus_is_written_nowhere(client, store, settings):
    """A pixel's query (an <img> written by hand) and its page's query read `+` as a space: +262692123456 lost its
    country code, was read in the plan's region (FR), found invalid, and stored as ` 262692123456`."""
    from tests.collector.helpers import files_written
    client.get("/collect?e=page_view&vid=v1&c.utm_term=+262692123456",
               headers={"referer": "https://www.motoassur.example/devis?utm_content=+447911123456"})
    client.get("/collect?e=page_view&vid=v2", headers={"referer": "https://www.motoassur.example/?utm_term=+41+79+123+45+67"})
    kept = rows(store, "SELECT visitor_id, url, captured FROM parcours.events ORDER BY visitor_id")
    assert [(k["url"], k["captured"]) for k in kept] == [
        ("https://www.motoassur.example/devis?utm_content=[phone]", {"utm_term": "[phone]"}),
        ("https://www.motoassur.example/?utm_term=[phone]", {"utm_term": "[phone]"})]
    for path, data in files_written(settings.data_dir):
        assert b"692123456" not in data and b"7911123456" not in data and b"79 123 45 67" not in data, path
