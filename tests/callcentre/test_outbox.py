"""The leads webhook: each lead pushed once, signed, retried with backoff from the outbox, across restarts;
a lead that stops being one is withdrawn, never sent."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from callcentre import outbox as outbox_mod
from callcentre import webhook
from callcentre.outbox import Outbox
from tests.callcentre.conftest import form_event, post
from tests.callcentre.test_leads import PHONE, journey
from tests.collector.helpers import rows

SECRET = "webhook-test-secret"


class Receiver:
    """The call centre's tool: a real HTTP server on a free port, keeping what it receives."""

    def __init__(self):
        self.status = 200
        self.received: list[tuple[dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                payload = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), payload))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/leads"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def states(store):
    return {r["lead_id"]: (r["state"], r["attempts"]) for r in rows(
        store, "SELECT lead_id, argMax(state, updated_at) AS state, argMax(attempts, updated_at) AS attempts "
               "FROM parcours.lead_deliveries GROUP BY lead_id")}


def test_a_lead_is_delivered_once_signed_and_never_again(client, store, plan, sealer, receiver):
    events = journey(client, "v-hook")
    lead_id = events[2]["id"]
    box = Outbox(store, receiver.url, SECRET)
    tick = box.tick(plan, sealer)
    assert (tick.qualified, tick.delivered) == (1, 1)
    (headers, payload), = receiver.received
    assert webhook.verify(SECRET, headers, payload, time.time())
    assert not webhook.verify("another-secret", headers, payload, time.time())
    assert not webhook.verify(SECRET, headers, payload + b" ", time.time())
    assert not webhook.verify(SECRET, headers, payload, time.time() + 3600)  # replayed an hour later
    assert headers["X-Parcours-Lead"] == lead_id and headers["X-Parcours-Attempt"] == "1"
    doc = json.loads(payload)
    assert doc["type"] == "callback_lead" and doc["lead_id"] == lead_id and doc["phone"] == "+33648271953"
    assert doc["consent"]["wording"] == "rappel-2026-08" and doc["consent"]["url"] == events[1]["url"]
    assert doc["journey"]["lever"] == "display" and doc["last_step"] == "coverage"
    assert states(store) == {lead_id: ("delivered", 1)}
    # The next pass, and a restarted collector's (a new outbox on the same table), send nothing.
    assert box.tick(plan, sealer).delivered == 0
    assert Outbox(store, receiver.url, SECRET).tick(plan, sealer).delivered == 0
    assert len(receiver.received) == 1
    doc = client.get("/api/leads?since=2h", headers={"authorization": "Bearer admin-test-token"}).json()
    assert dict(zip(doc["columns"], doc["rows"][0]))["delivery"] == "delivered"


def test_a_failing_receiver_is_retried_with_backoff_from_the_outbox(client, store, plan, sealer, receiver,
                                                                     monkeypatch):
    journey(client, "v-retry")
    receiver.status = 503
    monkeypatch.setattr(outbox_mod, "RETRY_MIN", 3600.0)  # the next attempt not due for 15 minutes, whatever the machine
    box = Outbox(store, receiver.url, SECRET)
    assert box.tick(plan, sealer).failed == 1
    (lead_id, (state, attempts)), = states(store).items()
    assert (state, attempts) == ("pending", 1)
    (due,) = rows(store, "SELECT dateDiff('second', argMax(updated_at, updated_at), argMax(next_attempt_at, updated_at)) "
                         "AS wait, argMax(last_error, updated_at) AS error FROM parcours.lead_deliveries")
    assert due["error"] == "answered 503" and 890 <= due["wait"] <= 900  # capped at RETRY_MAX
    assert box.tick(plan, sealer).failed == 0  # not due yet: nothing sent
    assert len(receiver.received) == 1
    store.query(f"ALTER TABLE {store.database}.lead_deliveries UPDATE next_attempt_at = now64(3) - INTERVAL 1 SECOND "
                "WHERE 1 SETTINGS mutations_sync = 2", readonly=False)
    receiver.status = 200
    restarted = Outbox(store, receiver.url, SECRET)  # a collector restarted meanwhile
    assert restarted.tick(plan, sealer).delivered == 1
    assert [h["X-Parcours-Attempt"] for h, _ in receiver.received] == ["1", "2"]
    assert states(store) == {lead_id: ("delivered", 2)}


def test_a_visitor_who_comes_back_before_delivery_is_withdrawn_not_sent(client, store, plan, sealer, receiver):
    events = journey(client, "v-back")
    receiver.status = 500
    box = Outbox(store, receiver.url, SECRET)
    box.tick(plan, sealer)
    post(client, form_event("form_submit", "v-back", "s-v-back", "", phone=PHONE, quote_id="Q-9"))
    store.query(f"ALTER TABLE {store.database}.lead_deliveries UPDATE next_attempt_at = now64(3) - INTERVAL 1 SECOND "
                "WHERE 1 SETTINGS mutations_sync = 2", readonly=False)
    receiver.status = 200
    assert box.tick(plan, sealer).withdrawn == 1
    assert states(store) == {events[2]["id"]: ("withdrawn", 1)}
    assert len(receiver.received) == 1  # the failed attempt only


def test_an_unreachable_receiver_is_an_attempt_not_a_crash(client, store, plan, sealer):
    journey(client, "v-down")
    box = Outbox(store, "http://127.0.0.1:9/nothing-listens", SECRET)
    assert box.tick(plan, sealer).failed == 1
    (error,) = rows(store, "SELECT argMax(last_error, updated_at) AS e FROM parcours.lead_deliveries")
    assert "refused" in error["e"].lower()


def test_backoff_doubles_up_to_a_cap():
    assert [outbox_mod.backoff(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert outbox_mod.backoff(30) == outbox_mod.RETRY_MAX


def test_the_signature_check_in_the_managers_guide_accepts_a_delivery_and_refuses_a_forgery():
    import re

    from tests.conftest import ROOT

    doc = (ROOT / "docs" / "call-centre.md").read_text()
    code = re.search(r"In Python:\n\n```python\n(.*?)```", doc, re.S).group(1)
    scope: dict = {}
    exec(code, scope)  # the guide's own function, as a receiver would paste it
    payload = b'{"type":"callback_lead","lead_id":"L-1"}'
    headers = webhook.headers(SECRET, "L-1", 1, int(time.time()), payload)
    assert scope["valid"](SECRET, headers, payload)
    assert not scope["valid"](SECRET, headers, payload.replace(b"L-1", b"L-2"))
    assert not scope["valid"]("not-the-secret", headers, payload)
    old = webhook.headers(SECRET, "L-1", 1, int(time.time()) - 3600, payload)
    assert not scope["valid"](SECRET, old, payload)


class Trickler:
    """A hostile receiver: reads the request, then answers one header line at a time, slowly, for ever."""

    def __init__(self, every: float):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/slow"
        self.every = every
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        conn, _ = self.sock.accept()
        with conn:
            conn.recv(65536)
            try:
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
                for i in range(600):  # a bound for the test's sake, far past any timeout
                    time.sleep(self.every)
                    conn.sendall(b"X-Slow-%d: 1\r\n" % i)
            except OSError:  # the dispatcher gave up and closed
                pass


def test_a_receiver_answering_a_byte_at_a_time_is_cut_off_not_waited_for(client, store, plan, sealer, monkeypatch):
    journey(client, "v-slow")
    monkeypatch.setattr(outbox_mod, "TIMEOUT", 1.0)
    trickler = Trickler(every=0.2)  # each line well within the socket timeout: only a whole-exchange bound ends it
    box = Outbox(store, trickler.url, SECRET)
    assert box.tick(plan, sealer).failed == 1
    (row,) = rows(store, "SELECT argMax(state, updated_at) AS state, argMax(last_error, updated_at) AS error "
                         "FROM parcours.lead_deliveries")
    assert row == {"state": "pending", "error": "no answer within 1 s"}
    trickler.sock.close()


def test_a_redirect_is_not_followed_the_lead_goes_nowhere_else(client, store, plan, sealer, receiver):
    journey(client, "v-redirect")
    elsewhere = Receiver()
    original = receiver.server.RequestHandlerClass.do_POST

    def redirect(handler):
        handler.rfile.read(int(handler.headers["Content-Length"]))
        receiver.received.append((dict(handler.headers), b""))
        handler.send_response(307)
        handler.send_header("Location", elsewhere.url)
        handler.end_headers()

    receiver.server.RequestHandlerClass.do_POST = redirect
    try:
        assert Outbox(store, receiver.url, SECRET).tick(plan, sealer).failed == 1
    finally:
        receiver.server.RequestHandlerClass.do_POST = original
        elsewhere.close()
    assert len(receiver.received) == 1 and elsewhere.received == []
    (row,) = rows(store, "SELECT argMax(state, updated_at) AS state, argMax(last_error, updated_at) AS error "
                         "FROM parcours.lead_deliveries")
    assert row["state"] == "pending" and row["error"].startswith("answered 307 (a redirect, not followed")


def test_a_failing_receiver_ends_the_pass_the_other_leads_wait_for_the_next(client, store, plan, sealer, receiver):
    journey(client, "v-first")
    journey(client, "v-second")
    receiver.status = 500
    tick = Outbox(store, receiver.url, SECRET).tick(plan, sealer)
    assert (tick.qualified, tick.failed, len(receiver.received)) == (2, 1, 1)
    assert sorted(s for s, _ in states(store).values()) == ["pending", "pending"]


def test_a_lead_whose_phone_the_key_cannot_open_waits_for_the_right_key_not_withdrawn(client, store, plan, sealer,
                                                                                        receiver):
    from callcentre.seal import Sealer, parse_keys

    journey(client, "v-locked")
    box = Outbox(store, receiver.url, SECRET)
    tick = box.tick(plan, Sealer(parse_keys("33" * 32)))  # a collector restarted with the wrong key
    assert (tick.qualified, tick.locked, tick.withdrawn, tick.delivered) == (1, 1, 0, 0)
    assert box.tick(plan, None).locked == 1  # or with none
    assert receiver.received == [] and [s for s, _ in states(store).values()] == ["pending"]
    assert box.tick(plan, sealer).delivered == 1  # the right key back: it goes out
    assert json.loads(receiver.received[0][1])["phone"] == "+33648271953"
