"""Erasure on the embedded engine: the person's rows everywhere, an audit row without them; a key shared by
many visitors removed from their rows without deleting them."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from collector import ingest
from collector.clickhouse import StoreError
from collector.deadletters import dead_letter
from collector.rows import lines

from collector.ddl import mutation
from collector.errors import BadParameter
from journeys import conversions, erase, persons
from journeys.profiles import Record
from tests.journeys.conftest import rows
from tests.journeys.test_persons import key, quote, send, visit


def count(store, table, where="1") -> int:
    return rows(store, f"SELECT count() AS n FROM parcours.{table} WHERE {where}")[0]["n"]


def test_erasing_by_visitor_takes_the_whole_person_and_leaves_an_audit_row_without_them(store, ctx, plan):
    send(store, plan, visit("v1"), quote("v1", "Q-1", "0612345678"), visit("v2"),
         {"e": "identify", "vid": "v3", "p": {"phone": "0612345678"}})
    conversions.import_records(store, ctx, [Record(1, {"conversion_id": "C-1", "ts": "2026-10-03T10:00:00",
                                                       "crm_id": "Q-1"})], source="t")
    preview = erase.erase(store, plan, ctx.secret, "visitor", "v3", dry_run=True)
    assert preview.removed["events"] == 3 and count(store, "events", "visitor_id = 'v1'") == 2, "a dry run removes nothing"
    done = erase.erase(store, plan, ctx.secret, "visitor", "v3")
    assert (done.person, done.keys) == (True, 4), "v1, v3, the phone, the quote"
    assert (done.removed["events"], done.removed["conversions"]) == (3, 1)
    assert count(store, "events") == 1 and count(store, "events", "visitor_id = 'v2'") == 1
    assert count(store, "conversions") == 0 and count(store, "person_keys FINAL", "key != 'v2'") == 0
    (audit,) = rows(store, "SELECT key_kind, keys, removed FROM parcours.erasures")
    assert audit == {"key_kind": "visitor", "keys": 4, "removed": {**done.removed}}


def test_an_erasure_while_a_query_reads_the_tables_waits_for_it_with_every_table_attached(store, ctx, plan,
                                                                                         monkeypatch):
    """The embedded engine refuses to attach a table again while a query that began before it was detached still
    reads it (a report, an analyst's statement: "Retry later"). The erasure waits for a moment when no other query
    runs before it reattaches the tables it changed, the tables attached meanwhile: events sent while it waits are
    stored (before, the tables were detached at once and stayed so until that query ended: every insert failed,
    and the batch writer was held)."""
    import threading

    send(store, plan, visit("v1"), quote("v1", "Q-1", "0612345678"), visit("v2"))

    def read():  # a second per row, 60 rows: stopped below once the erasure was seen waiting for it
        try:
            store.query(f"SELECT count() FROM numbers(60) WHERE sleepEachRow(1) = 0 AND number NOT IN "
                        f"(SELECT length(visitor_id) + 100 FROM {store.database}.events) "
                        "SETTINGS max_block_size = 1, log_comment = 'test-erase-reader'", readonly=False)
        except StoreError:
            pass

    # Long enough that a loaded machine cannot end it before the erasure reaches its wait (a 3 s query did once).
    reading = threading.Thread(target=read)
    from collector import old_parts

    waiting, quiet, done = threading.Event(), old_parts._quiet, {}

    def watched(s):
        if not quiet(s):
            waiting.set()
            return False
        return True

    monkeypatch.setattr(old_parts, "_quiet", watched)
    erasing = threading.Thread(target=lambda: done.update(erased=erase.erase(store, plan, ctx.secret, "visitor", "v1")))
    reading.start()
    erasing.start()
    assert waiting.wait(30), "the erasure waited for the query"
    send(store, plan, visit("v4"))
    assert count(store, "events", "visitor_id = 'v4'") == 1
    assert reading.is_alive(), "stored while the query still ran"
    store.query("KILL QUERY WHERE Settings['log_comment'] = 'test-erase-reader' SYNC", readonly=False)
    reading.join(30)
    erasing.join(60)
    assert done["erased"].removed["events"] == 2 and done["erased"].parts_left == 0
    assert count(store, "events") == 2, "v2 and v4: the table is attached and read"


def test_a_reading_query_begun_as_the_erasure_detaches_a_table_is_stopped_not_waited_for(store, ctx, plan,
                                                                                         monkeypatch):
    """Between the erasure's last look for a quiet moment and its DETACH, a reading query may begin (a report, an
    analyst's statement of up to an hour): the table cannot be attached again until it ends, and the batch writer
    was held paused all that time, then past ATTACH_TIMEOUT the table was left detached and ingestion stopped (ops
    probe). Such a query is stopped, its caller told; the erasure goes on, every table attached."""
    import threading

    from collector import old_parts
    from collector.storage import StoreError as Failed

    send(store, plan, visit("v1"), quote("v1", "Q-1", "0612345678"), visit("v2"))
    marker, quiet, calls, read = "test-erase-late-reader", old_parts._quiet, [], {}

    def reader():
        try:
            read["rows"] = store.analyst(
                f"SELECT count(), '{marker}' FROM numbers(100000000000) WHERE sipHash64(number) = 0 AND number NOT IN "
                f"(SELECT length(visitor_id) + 1000 FROM {store.database}.events) "
                "SETTINGS max_execution_time = 30, timeout_overflow_mode = 'break'").rows  # no error of its own
        except Failed as exc:
            read["error"] = str(exc)

    def late_reader(s):
        """The real look; once it is quiet, inside the writer's pause, a reader begins just after it."""
        answer = quiet(s)
        calls.append(answer)
        if answer and calls.count(True) == 2:
            threading.Thread(target=reader, daemon=True).start()
            running = f"SELECT count() FROM system.processes WHERE query LIKE '%{marker}%' " \
                      "AND query NOT LIKE '%system.processes%'"
            deadline = time.monotonic() + 30
            while not store.query(running, readonly=False).rows[0][0] and time.monotonic() < deadline:
                time.sleep(0.02)
        return answer

    monkeypatch.setattr(old_parts, "_quiet", late_reader)
    done = erase.erase(store, plan, ctx.secret, "visitor", "v1")
    assert done.removed["events"] == 2 and done.parts_left == 0
    deadline = time.monotonic() + 30
    while not read and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "error" in read, f"the late reader ran to its end, the table detached meanwhile: {read}"
    send(store, plan, visit("v4"))
    assert count(store, "events") == 2, "v2 and v4: the table is attached and read"


def test_the_rows_clickhouse_refused_and_set_aside_are_erased_with_the_person(store, ctx, plan):
    """A dead letter holds a whole row (collector/deadletters.py): `parcours rejected replay` would put the
    person's event back, so an erasure deletes it there too."""
    now = int(time.time() * 1000)
    events = [{"id": str(uuid.uuid4()), "t": now, "sid": "s", **e}
              for e in (visit("v1"), quote("v1", "Q-1", "0612345678"), visit("v9"), quote("v8", "Q-8", "0698765432"))]
    out = ingest.ingest(json.dumps({"sent": now, "events": events}).encode(), ingest.Request(now), plan, ctx.secret)
    store.insert_lines("dead_letters", lines(
        dead_letter(("events", line + b"\n", StoreError("insert into events failed: refused", 53)), now / 1000)
        for line in lines(out.events).splitlines()))
    assert count(store, "dead_letters") == 4
    done = erase.erase(store, plan, ctx.secret, "visitor", "v1")
    assert done.removed["dead_letters"] == 2 and count(store, "dead_letters", "line LIKE '%v1%'") == 0
    done = erase.erase(store, plan, ctx.secret, "crm_id", "Q-8")  # a quote no stitching has seen
    assert done.removed["dead_letters"] == 1 and count(store, "dead_letters") == 1  # v9's page view stays


def test_rejected_events_kept_as_received_are_erased_even_when_they_do_not_parse(store, ctx, plan):
    """An event cut at the size limit, one that is not UTF-8, a Segment call in Segment's shape: the raw text
    is not JSON, and the person's visitor id is read off it (they stayed, with URL, user agent and IP)."""
    send(store, plan, visit("v1"), quote("v1", "Q-1", "0612345678"), visit("v2"), visit("user:u-7"))
    now = int(time.time() * 1000)
    tag = {"id": str(uuid.uuid4()), "t": now, "sid": "s", "e": "page_view", "vid": "v1"}
    bodies = [json.dumps({"sent": now, "events": [{**tag, "url": "https://x/" + "a" * 40000}]}).encode(),
              json.dumps({"sent": now, "events": [{**tag, "url": "https://x/\udc80"}]}).encode(),
              json.dumps({"sent": now, "events": [{**tag, "vid": "v2", "url": "https://x/\udc80"}]}).encode()]
    for body in bodies:
        out = ingest.ingest(body, ingest.Request(now), plan, ctx.secret)
        store.insert_rows("rejected_events", out.rejected)
        # The same row refused by ClickHouse and set aside (collector/deadletters.py): its raw is a string there.
        store.insert_lines("dead_letters", lines([dead_letter(
            ("rejected_events", lines(out.rejected), StoreError("insert into rejected_events failed: x", 53)), now / 1000)]))
    segment = [('{"type":"track","event":"x","anonymousId": "v1","properties":{"a":"' + "b" * 100),
               '{"type":"track","userId":"u-7","properties":{"a":"\\xff',
               '{"type":"track","anonymousId":"v2","properties":{"a":"\\xff']
    store.insert_lines("rejected_events", lines(
        {"received_at": now / 1000, "event_id": str(uuid.uuid4()), "event": "x", "reasons": ["cut"], "raw": raw}
        for raw in segment))
    assert count(store, "rejected_events", "NOT isValidJSON(raw)") == 6
    done = erase.erase(store, plan, ctx.secret, "visitor", "v1")
    assert done.removed["rejected_events"] == 3
    assert count(store, "rejected_events", "raw LIKE '%v1%'") == 0 and count(store, "rejected_events") == 3
    assert done.removed["dead_letters"] == 2 and count(store, "dead_letters", "line LIKE '%v1%'") == 0
    erase.erase(store, plan, ctx.secret, "visitor", "user:u-7")
    assert count(store, "rejected_events") == 2 and count(store, "rejected_events", "raw LIKE '%v2%'") == 2


def test_erasing_a_quote_id_that_only_a_rejected_line_knows(store, ctx, plan):
    conversions.import_records(store, ctx, [Record(7, {"conversion_id": "C-9", "ts": "never", "crm_id": "Q-9"})],
                               source="bad.csv")
    assert count(store, "import_rejects") == 1
    done = erase.erase(store, plan, ctx.secret, "crm_id", "Q-9")
    assert done.removed["import_rejects"] == 1 and count(store, "import_rejects") == 0


def test_a_rejected_cancellation_of_the_persons_contract_is_erased_with_them(store, ctx, plan):
    """A cancellation line names its contract alone (no phone, no quote id): rejected, it stayed after its
    person's erasure (this stop's probe)."""
    import io

    from journeys import cancellations

    sale = b"conversion_id,ts,premium,phone\nERA-1,2026-11-25T10:00:00Z,100.00,06 87 65 43 21\n"
    other = b"conversion_id,ts,premium,phone\nERA-2,2026-11-25T10:00:00Z,100.00,06 87 65 43 22\n"
    conversions.import_file(store, ctx, io.BytesIO(sale), source="era-sale.csv")
    conversions.import_file(store, ctx, io.BytesIO(other), source="era-other.csv")
    cancellations.import_file(store, ctx, io.BytesIO(b"conversion_id,cancelled_at\nERA-1,31/11/2026\nERA-2,31/11/2026\n"),
                              source="era-cancel.csv")
    assert count(store, "import_rejects", "record_key IN ('ERA-1', 'ERA-2')") == 2
    done = erase.erase(store, plan, ctx.secret, "phone", "06 87 65 43 21")
    assert done.removed["conversions"] == 1 and done.removed["import_rejects"] == 1
    assert rows(store, "SELECT record_key FROM parcours.import_rejects FINAL WHERE record_key LIKE 'ERA-%'") == \
        [{"record_key": "ERA-2"}]  # another person's, kept


def test_a_phone_shared_by_many_visitors_is_removed_from_their_rows_not_their_rows(store, ctx, plan):
    cfg = persons.config(plan)
    shop = "04 72 00 00 00"
    for i in range(cfg.max_visitors_per_key + 1):
        send(store, plan, quote(f"v{i}", f"Q-{i}", shop))
    persons.stitch(store, cfg)
    done = erase.erase(store, plan, ctx.secret, "phone", shop)
    assert not done.person and done.cleared["events"] == cfg.max_visitors_per_key + 1
    assert count(store, "events") == cfg.max_visitors_per_key + 1, "the visits stay"
    assert count(store, "events", f"phone_key = '{key(shop)[1]}'") == 0
    assert count(store, "identity_links", f"key = '{key(shop)[1]}' OR other = '{key(shop)[1]}'") == 0


def test_what_cannot_be_erased_says_why_without_echoing_the_number(store, ctx, plan):
    with pytest.raises(BadParameter) as info:
        erase.erase(store, plan, ctx.secret, "phone", "06 12")
    assert str(info.value) == "phone: not a valid phone number (read in region FR)"
    with pytest.raises(BadParameter, match="erase by one of phone, visitor, crm_id"):
        erase.erase(store, plan, ctx.secret, "email", "x@example.fr")


def test_on_a_cluster_the_keys_are_named_by_their_hashes_in_statements_clickhouse_parses(store):
    from journeys.persons import Staging

    with Staging(store) as tmp:
        # Keys no database name can hold (it is test_ and hex digits: a key "abc" was once in one).
        table = tmp.table("key_type String, key String", [{"key_type": "visitor", "key": "visitor-XQ1"},
                                                           {"key_type": "phone", "key": "phone-XQ2"}])

        class OnCluster:  # the same database, as a cluster deployment names it
            database, cluster = store.database, "analytics"
            query = staticmethod(store.query)

        keys = erase._Keys(OnCluster, table)
        for target in erase.TABLES:
            statement = mutation(store.database, "analytics", target.name, "DELETE",
                                       target.where(keys, ("quote_id",)))
            assert "XQ1" not in statement and "XQ2" not in statement and table not in statement
            assert statement.startswith(f"ALTER TABLE {store.database}.{target.name}_local ON CLUSTER analytics DELETE")
            (formatted,) = store.query("SELECT formatQuery({q:String})", parameters={"q": statement}).rows[0]
            assert formatted.startswith("ALTER TABLE")
    one_server = mutation("parcours", None, "events", "DELETE", "visitor_id IN (SELECT key FROM t)")
    assert one_server == "ALTER TABLE parcours.events DELETE WHERE visitor_id IN (SELECT key FROM t) SETTINGS mutations_sync = 2"


def test_the_api_erases_by_a_json_body_and_says_what_it_needs(client, store, plan):
    from tests.collector.helpers import event, post
    from tests.journeys.conftest import ADMIN

    post(client, event("form_submit", vid="api-1", f="moto_quote", p={"quote_id": "Q-API1", "phone": "0612345678"}))
    assert client.post("/api/erase", content=b'{"phone": "0612345678"}').status_code == 401
    bad = client.post("/api/erase", content=b'{"email": "x"}', headers=ADMIN)
    assert bad.status_code == 400 and 'one of "phone", "visitor" or "crm_id"' in bad.json()["error"]
    # A key given twice: which one was meant? Refused, nothing erased (msgspec alone would take the last).
    twice = client.post("/api/erase", content=b'{"crm_id": "Q-API1", "crm_id": "Q-OTHER"}', headers=ADMIN)
    assert twice.status_code == 400 and twice.json()["error"] == "crm_id: given more than once; send each key once"
    assert count(store, "events", "visitor_id = 'api-1'") == 1
    done = client.post("/api/erase", content=b'{"crm_id": "Q-API1"}', headers=ADMIN).json()
    assert done["person"] and done["removed"]["events"] == 1 and done["parts_left"] == 0
    assert count(store, "events", "visitor_id = 'api-1'") == 0


def test_the_api_refuses_a_mistyped_erasure_rather_than_erase_for_real(client, store, plan):
    """An outside tester's finding: {"visitor": "…", "dryrun": true} (a typo) ran a real erasure, and
    {"visitor": ["a"]} erased the visitor id "['a']". A key or value the body does not document is a 400."""
    from tests.collector.helpers import event, post
    from tests.journeys.conftest import ADMIN

    post(client, event("form_submit", vid="api-2", f="moto_quote", p={"quote_id": "Q-API2", "phone": "0612345678"}))
    refused = {
        b'{"visitor": "api-2", "dryrun": true}':
            'dryrun: unknown key (did you mean "dry_run"?); send a JSON object with one of "phone", "visitor" or '
            '"crm_id" (and "dry_run": true to see what would be removed)',
        b'{"visitor": ["api-2"]}': "visitor: send the visitor as a JSON string",
        b'{"visitor": "api-2", "dry_run": "yes"}': "dry_run: send true or false (JSON booleans)",
        b'{"visitor": "api-2", "0612345678": 1}':
            '[redacted]: unknown key; send a JSON object with one of "phone", "visitor" or "crm_id" (and "dry_run": '
            'true to see what would be removed)',
    }
    for body, said in refused.items():
        response = client.post("/api/erase", content=body, headers=ADMIN)
        assert (response.status_code, response.json()) == (400, {"error": said}), body
    assert count(store, "events", "visitor_id = 'api-2'") == 1, "nothing erased"
    seen = client.post("/api/erase", content=b'{"visitor": "api-2", "dry_run": true}', headers=ADMIN).json()
    assert seen["removed"]["events"] == 1 and count(store, "events", "visitor_id = 'api-2'") == 1


def test_a_quote_id_that_reads_as_a_phone_is_erased_by_the_id_as_typed(store, ctx, plan):
    """Such an id is kept as its keyed hash (redact.Redactor.keyed): the erasure finds it from the id as given."""
    send(store, plan, visit("v1"), quote("v1", "Q-0145000001", "0612345678"), visit("v2"), quote("v2", "Q-0145000002", "0698765432"))
    assert count(store, "events", "properties LIKE '%0145000001%'") == 0  # no number written
    done = erase.erase(store, plan, ctx.secret, "crm_id", "Q-01 45 00 00 01")
    assert done.person and done.removed["events"] == 2
    assert count(store, "events") == 2 and count(store, "events", "visitor_id = 'v2'") == 2


def test_an_erasure_first_moves_the_rows_kept_in_the_dead_letters_file_into_the_table(client, store, settings):
    """Rows even dead_letters refused are kept in a file of the data directory and moved into the table at the next
    start (collector/deadletters.py): an erasure in between missed them, and that start brought the person's
    back. The erasure moves them first; a file ClickHouse still refuses stops it (503), nothing erased."""
    from collector.deadletters import DIRECTORY
    from tests.journeys.conftest import ADMIN

    now = time.time()
    rows = [dead_letter(("events", json.dumps({"visitor_id": v, "event": "page_view"}).encode() + b"\n",
                         StoreError("insert into events failed: refused", 53)), now) for v in ("dl-1", "dl-2")]
    kept = settings.data_dir / DIRECTORY / "earlier-run.jsonl"
    kept.parent.mkdir(exist_ok=True)
    kept.write_bytes(b"not a row\n")  # ClickHouse refuses it
    refused = client.post("/api/erase", content=b'{"visitor": "dl-1"}', headers=ADMIN)
    assert refused.status_code == 503 and "earlier-run.jsonl, not in dead_letters; nothing was erased" in \
        refused.json()["error"]
    kept.write_bytes(lines(rows))
    done = client.post("/api/erase", content=b'{"visitor": "dl-1"}', headers=ADMIN)
    assert done.status_code == 200 and done.json()["removed"]["dead_letters"] == 1, done.text
    assert not kept.exists() and count(store, "dead_letters") == 1 and count(store, "dead_letters", "line LIKE '%dl-2%'") == 1


def test_parcours_erase_without_a_collector_moves_the_dead_letters_file_first(engine_dir, store, tmp_path):
    """The same when `parcours erase` opens the engine itself (no collector runs): the file's rows moved into
    dead_letters, then erased with the person."""
    from click.testing import CliRunner

    from collector.cli import main
    from collector.deadletters import DIRECTORY
    from tests.conftest import EXAMPLE_PLAN, SECRET

    now = time.time()
    kept = tmp_path / DIRECTORY / "earlier-run.jsonl"
    kept.parent.mkdir()
    kept.write_bytes(lines([dead_letter(("events", json.dumps({"visitor_id": v}).encode() + b"\n",
                                         StoreError("refused", 53)), now) for v in ("dl-1", "dl-2")]))
    out = CliRunner().invoke(main, ["erase", "--visitor", "dl-1", "--plan", str(EXAMPLE_PLAN), "--secret", SECRET.decode(),
                                    "--clickhouse", f"chdb://{engine_dir}", "--database", store.database,
                                    "--data-dir", str(tmp_path)])
    assert out.exit_code == 0, out.output
    assert not kept.exists() and count(store, "dead_letters") == 1 and count(store, "dead_letters", "line LIKE '%dl-2%'") == 1


def test_a_quote_id_in_rejected_segment_calls_is_erased_whatever_their_shape(client, store, plan):
    """Outside probe: a Segment call kept as rejected keeps `raw` in Segment's shape (properties, traits,
    context.traits), not the tag's `p`, and one not UTF-8 or cut at the size limit is no JSON at all: erasing
    its quote id left both rows, the quote and contract ids in their raw."""
    from tests.collector.segment.test_api import basic, key_for
    from tests.journeys.conftest import ADMIN

    write_key = key_for(client)
    stamp = "2026-01-05T10:00:00.000Z"
    props = '"quote_id":"Q-ERASEDD","contract_id":"MA-ERASE-d-9","premium":412.5'
    # Not UTF-8 (a \xff byte): the batch is split and this call kept as rejected, its raw no JSON.
    bad = (b'{"type":"track","event":"Contract Signed","userId":"CUST-D-unlinked","messageId":"m-bad",'
           b'"timestamp":"' + stamp.encode() + b'","properties":{' + props.encode() + b',"note":"\xff"}}')
    # Larger than a call may be, properties first (segment-analytics-python's order), anonymousId after.
    big = json.dumps({"properties": {"quote_id": "Q-ERASEDD", "contract_id": "MA-ERASE-d-9", "note": "x" * 40000},
                      "anonymousId": "v-seg-big", "type": "track", "event": "Contract Signed",
                      "messageId": "m-big", "timestamp": stamp}).encode()
    # An identify call refused for its time: its traits (and context.traits) hold the quote id.
    traits = json.dumps({"type": "identify", "userId": "CUST-E-unlinked", "messageId": "m-traits",
                         "timestamp": "yesterday", "context": {"traits": {"quote_id": "Q-ERASEDD"}},
                         "traits": {"quote_id": "Q-ERASEDD"}}).encode()
    body = b'{"batch":[' + bad + b"," + big + b"," + traits + b'],"sentAt":"' + stamp.encode() + b'"}'
    r = client.post("/v1/batch", content=body, headers=basic(write_key))
    assert r.status_code == 200 and r.json()["rejected"] == 3, r.text
    done = client.post("/api/erase", content=b'{"crm_id": "Q-ERASEDD"}', headers=ADMIN).json()
    assert done["removed"]["rejected_events"] == 3
    assert count(store, "rejected_events", "raw LIKE '%Q-ERASEDD%' OR raw LIKE '%MA-ERASE-d-9%'") == 0


def test_an_event_too_large_keeps_what_identifies_it_and_is_erased_with_its_person(client, store, plan):
    """Outside probe: an event larger than the size kept was cut at 32,768 bytes, and an id after a big
    property (the visitor id, a phone, a quote id; a Segment call's anonymousId after its properties) was lost
    with the rest: no erasure found the row, which kept the person's IP prefix, browser and times."""
    from collector.segment.translate import private_id
    from tests.collector.helpers import event, post
    from tests.collector.segment.test_api import basic, key_for
    from tests.journeys.conftest import ADMIN

    note = {"note": "x" * 40000}
    post(client, event("form_submit", vid="v-big", f="moto_quote", p={"quote_id": "Q-ERASEA", "phone": "0611223344"}))
    big = {"id": str(uuid.uuid4()), "e": "page_view", "t": int(time.time() * 1000), "p": note,
           "url": "https://www.motoassur.example/devis?q=Q-ERASEA", "vid": "v-big", "sid": "s-big"}
    lone = {**big, "id": str(uuid.uuid4()), "e": "form_submit", "f": "moto_quote", "vid": "v-lone",
            "p": {**note, "phone": "06 44 55 66 77"}}
    assert post(client, big, lone).status_code == 204
    stamp = "2026-01-05T10:00:00.000Z"
    calls = [{"properties": {**note, "quote_id": "Q-ERASEB"}, "anonymousId": "v-seg", "type": "track",
              "event": "Contract Signed", "messageId": "m-1", "timestamp": stamp},
             {"properties": note, "traits": {**note, "x": 1}, "context": {"traits": {**note, "quote_id": "Q-ERASEC"}},
              "userId": "Jean.Dupont@example.fr", "type": "identify", "messageId": "m-2", "timestamp": stamp}]
    r = client.post("/v1/batch", content=json.dumps({"batch": calls, "sentAt": stamp}), headers=basic(key_for(client)))
    assert r.status_code == 200 and r.json()["rejected"] == 2, r.text
    erased = lambda body: client.post("/api/erase", content=json.dumps(body), headers=ADMIN).json()["removed"]
    assert erased({"crm_id": "Q-ERASEA"})["rejected_events"] == 1
    assert count(store, "rejected_events", "raw LIKE '%v-big%'") == 0
    assert erased({"phone": "06 44 55 66 77"})["rejected_events"] == 1
    assert count(store, "rejected_events", "raw LIKE '%v-lone%'") == 0
    assert erased({"crm_id": "Q-ERASEB"})["rejected_events"] == 1
    # The e-mail address as userId is no text kept, but the visitor id Segment's calls make of it.
    visitor = "user:" + private_id("Jean.Dupont@example.fr", plan, client.app.state.settings.secret)
    assert erased({"visitor": visitor})["rejected_events"] == 1
    assert count(store, "rejected_events") == 0


def test_a_rejected_cancellation_of_a_contract_only_a_rejected_sale_line_names_is_erased(store, ctx, plan):
    """Outside probe: a cancellation line names its contract alone; when the sale line of that contract was
    rejected too (its time unreadable), no conversion held the contract, and the cancellation stayed after the
    erasure of the phone its sale line gave."""
    import io

    from journeys import cancellations

    sale = b"conversion_id,ts,premium,phone\nERR-1,not a time,100.00,06 87 65 43 29\nERR-2,not a time,100.00,06 87 65 43 28\n"
    conversions.import_file(store, ctx, io.BytesIO(sale), source="err-sale.csv")
    cancellations.import_file(store, ctx, io.BytesIO(b"conversion_id,cancelled_at\nERR-1,31/11/2026\nERR-2,31/11/2026\n"),
                              source="err-cancel.csv")
    assert count(store, "import_rejects", "record_key IN ('ERR-1', 'ERR-2')") == 4
    done = erase.erase(store, plan, ctx.secret, "phone", "06 87 65 43 29")
    assert done.removed["import_rejects"] == 2
    assert rows(store, "SELECT kind, record_key FROM parcours.import_rejects FINAL WHERE record_key LIKE 'ERR-%' "
                       "ORDER BY kind") == [{"kind": "cancellations", "record_key": "ERR-2"},
                                            {"kind": "conversions", "record_key": "ERR-2"}]  # another person's
