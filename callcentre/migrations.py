"""The call centre's tables: call-back consents and their deliveries, tracking number leases, calls; and the
views that match calls to journeys and make them touches."""

from __future__ import annotations

from pathlib import Path

from collector.ddl import AddColumns, LocalSetting, Migration, Table, view_from_file


RELEASED = Path(__file__).parent / "released"
"""View bodies as released migrations created them, never edited: the files beside this one are the current ones."""


def _view(name: str, filename: str) -> str:
    return view_from_file(name, Path(__file__).parent / filename)


MIGRATIONS: tuple[Migration, ...] = (
    # The call centre (callcentre/). The one place a phone number is kept: sealed (AES-256-GCM, a key apart
    # from the HMAC secret), only for a visitor who ticked the call-back box, deleted at purge_after. Stored
    # uncompressed: ciphertext does not compress, and the purge test can look for it on disk.
    Migration(35, "call-back consents", (
        Table("lead_contacts", """
            event_id String COMMENT 'the form_step event that carried the phone and the ticked box',
            consented_at DateTime64(3, 'UTC') COMMENT 'when the box was ticked and the step sent (the event time)',
            visitor_id String,
            session_id String,
            form_id LowCardinality(String),
            step LowCardinality(String),
            step_index UInt16,
            phone_key String COMMENT 'HMAC-SHA256 of the E.164 phone number, as in events',
            sealed String CODEC(NONE) COMMENT 'the E.164 phone number, sealed: key id, nonce, AES-256-GCM ciphertext and tag',
            wording LowCardinality(String) COMMENT 'version of the call-back box wording the visitor ticked',
            url String COMMENT 'the page where the box was ticked',
            plan_version LowCardinality(String),
            purge_after DateTime64(3, 'UTC') COMMENT 'consented_at + the lead rule''s retention_days: deleted then',
            inserted_at DateTime64(3, 'UTC') DEFAULT now64(3)""",
              engine="ReplacingMergeTree(inserted_at)", order_by="event_id", sharding_key="cityHash64(event_id)"),
        LocalSetting("lead_contacts", "cleanup_delay_period = 1, cleanup_delay_period_random_add = 0"),
    )),
    Migration(36, "tracking number leases", (
        Table("number_leases", """
            lease_id String,
            number String COMMENT 'the tracking number shown, E.164',
            visitor_id String,
            session_id String,
            url String COMMENT 'the page that leased it',
            started_at DateTime64(3, 'UTC'),
            expires_at DateTime64(3, 'UTC') COMMENT 'last renewal + hold_minutes: the lease ends then',
            grace_until DateTime64(3, 'UTC') COMMENT 'expires_at + grace_minutes: calls until then still count for it',
            renewed_at DateTime64(3, 'UTC') COMMENT 'the version: the latest row of a lease is current'""",
              engine="ReplacingMergeTree(renewed_at)", order_by="lease_id", sharding_key="cityHash64(lease_id)"),
    )),
    Migration(37, "calls", (
        Table("calls", """
            call_id String COMMENT 'the telephony system''s id of the call (Asterisk uniqueid): the key a re-import replaces',
            start DateTime64(3, 'UTC'),
            answered_at DateTime64(3, 'UTC') COMMENT '0 (1970) when the call was not answered',
            ended_at DateTime64(3, 'UTC'),
            caller LowCardinality(String) COMMENT 'number, anonymous (no caller id) or invalid',
            caller_key String COMMENT 'HMAC-SHA256 of the caller''s E.164 number, as phone_key in events',
            dialled String COMMENT 'the number called, E.164: a tracking number, the default one, or another',
            duration UInt32 COMMENT 'seconds, ringing included',
            billsec UInt32 COMMENT 'seconds of conversation',
            disposition LowCardinality(String) COMMENT 'ANSWERED, NO ANSWER, BUSY, FAILED',
            agent String COMMENT 'the agent or extension that took it',
            source String,
            source_line UInt32,
            profile LowCardinality(String),
            fingerprint UInt64,
            imported_at DateTime64(3, 'UTC') DEFAULT now64(3)""",
              engine="ReplacingMergeTree(imported_at)", order_by="call_id", sharding_key="cityHash64(call_id)"),
    )),
    Migration(38, "call-back lead deliveries (the webhook outbox)", (
        Table("lead_deliveries", """
            lead_id String COMMENT 'the form_abandon event that made the lead',
            state LowCardinality(String) COMMENT 'pending, delivered, withdrawn (no longer a lead) or expired (past its deadline)',
            attempts UInt32,
            next_attempt_at DateTime64(3, 'UTC'),
            last_error String,
            delivered_at DateTime64(3, 'UTC'),
            visitor_id String,
            phone_key String,
            form_id LowCardinality(String),
            call_by DateTime64(3, 'UTC') COMMENT 'the lead''s deadline (D or D+1)',
            updated_at DateTime64(3, 'UTC') DEFAULT now64(3)""",
              engine="ReplacingMergeTree(updated_at)", order_by="lead_id", sharding_key="cityHash64(lead_id)"),
        *(LocalSetting(table, "cleanup_delay_period = 1, cleanup_delay_period_random_add = 0")
          for table in ("number_leases", "calls", "lead_deliveries")),
    )),
    # A number called that is not one of the plan's (an agent calling a customer back) is a person's phone:
    # kept only as its keyed hash, as a caller's is.
    Migration(39, "calls: the keyed hash of a number called that is not ours", (
        AddColumns("calls", (
            "dialled_key String COMMENT 'HMAC-SHA256 of the number called when it is not one of the plan''s "
            "(a call-back to a customer); dialled then says other'",
        )),
    )),
    # Calls in the attribution paths: the calls matched to journeys, and the answered ones as touches, as
    # parameterized views whose bodies are calls.sql and touches.sql (a change to either needs a migration
    # that replaces its view).
    Migration(55, "calls matched to journeys, and calls as touches (views)", (
        _view("call_matches", "calls.sql"),
        view_from_file("call_touches", RELEASED / "touches_55.sql"),
    )),
    # The sessions that held a number read from the leases, not from the matches computed a second time, and
    # no touch read at all without a lease: 0.34 -> 0.17 CPU s for 20,000 calls on the reports bench's seed.
    Migration(56, "calls as touches: the sessions that held a number from the leases", (
        _view("call_touches", "touches.sql"),
    )),
)
