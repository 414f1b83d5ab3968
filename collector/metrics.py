"""Prometheus metrics of one collector process, served at /metrics."""

from __future__ import annotations

import bisect
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.utils import floatToGoString

_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_LAG = (0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.25, 1.5, 2, 3, 5, 10, 30, 60, 300)
_ROWS = (1, 10, 100, 500, 1000, 2500, 5000, 10000, 50000)

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    """A registry per app (tests build many apps in one process) and the collector's metrics in it."""

    def __init__(self):
        r = self.registry = CollectorRegistry()
        self.accepted = 0  # events appended to the log, valid and invalid: see _Ingested
        self.rejected = 0
        r.register(_Ingested(self))
        self.written = Counter("parcours_events_written", "Rows stored in ClickHouse.", ["table"], registry=r)
        self.batch_rows = Histogram("parcours_batch_rows", "Rows per ClickHouse insert batch.", buckets=_ROWS,
                                    registry=r)
        self.insert_seconds = Histogram("parcours_insert_seconds", "Duration of a successful batch insert.",
                                        buckets=_LATENCY, registry=r)
        self.lag = _Buckets(_LAG)  # one observation per log record: see _Lag
        r.register(_Lag(self.lag))
        self.clickhouse_errors = Counter("parcours_clickhouse_errors", "Failed ClickHouse inserts (each retried).",
                                         registry=r)
        self.dead_letters = Counter("parcours_dead_letters", "Rows ClickHouse refused for what they hold, set aside "
                                    "in dead_letters.", ["table"], registry=r)
        self.refused = Counter("parcours_refused", "Requests answered 503 (the tag retries them).", ["reason"],
                               registry=r)
        self.source_events = Counter("parcours_source_events", "Events server sources sent (the Segment-compatible "
                                     "API), accepted or rejected.", ["source", "outcome"], registry=r)
        self.pixel_without_consent = Counter("parcours_pixel_without_consent",
                                             "Pixel events not stored: the plan requires consent, which a pixel "
                                             "cannot carry, and the event is not one it exempts.", registry=r)
        self.fsyncs = Counter("parcours_wal_fsyncs", "Group commits of the write-ahead log (one fsync each).",
                              registry=r)
        self.fsync_seconds = Histogram("parcours_wal_fsync_seconds", "Write + fsync of one group commit.",
                                       buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                0.1, 0.5), registry=r)
        self.group_records = Histogram("parcours_wal_group_records", "Requests committed by one fsync.",
                                       buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256), registry=r)
        self.wal_records = Gauge("parcours_wal_records", "Log records not yet stored in ClickHouse.", registry=r)
        self.wal_bytes = Gauge("parcours_wal_bytes", "Log bytes on disk not yet stored in ClickHouse.", registry=r)
        self.wal_corrupt = Gauge("parcours_wal_corrupt_frames", "Torn or corrupt log frames skipped since start.",
                                 registry=r)

    def ingested(self, accepted: int, rejected: int) -> None:
        """Count one request's events, once they are in the log."""
        self.accepted += accepted
        self.rejected += rejected

    def watch(self, wal) -> None:
        """Read the log's depth at each scrape."""
        self.wal_records.set_function(lambda: wal.depth_records)
        self.wal_bytes.set_function(lambda: wal.depth_bytes)
        self.wal_corrupt.set_function(lambda: wal.corrupt_frames)

    def group_committed(self, records: int, seconds: float) -> None:
        self.fsyncs.inc()
        self.fsync_seconds.observe(seconds)
        self.group_records.observe(records)

    def batch_written(self, records, events: int, rejected: int, seconds: float) -> None:
        self.written.labels("events").inc(events)
        self.written.labels("rejected_events").inc(rejected)
        self.batch_rows.observe(events + rejected)
        self.insert_seconds.observe(seconds)
        self.lag.observe_since([r.accepted_at for r in records], time.time())

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _Ingested:
    """The per-request counters, read at each scrape: plain integers on the hot path (a prometheus
    Counter takes a lock on every increment), bumped on the event loop only."""

    def __init__(self, metrics: Metrics):
        self.metrics = metrics

    def collect(self):
        yield CounterMetricFamily("parcours_events_accepted", "Valid events appended to the write-ahead log.",
                                  value=self.metrics.accepted)
        yield CounterMetricFamily("parcours_events_rejected",
                                  "Invalid events appended to the log for rejected_events.", value=self.metrics.rejected)


class _Buckets:
    """A histogram's counts, kept by the writer for each record of a batch (thousands a second:
    a prometheus Histogram takes a lock per observation) and read at scrape."""

    def __init__(self, bounds: tuple[float, ...]):
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one is +Inf
        self.total = 0.0

    def observe_since(self, starts: list[float], now: float) -> None:
        """One observation of `now - start` (at least 0) per start."""
        counts, bounds = self.counts, self.bounds
        for start in starts:
            value = now - start if now > start else 0.0
            counts[bisect.bisect_left(bounds, value)] += 1
            self.total += value


class _Lag:
    def __init__(self, buckets: _Buckets):
        self.buckets = buckets

    def collect(self):
        b = self.buckets
        cumulative, running = [], 0
        for bound, count in zip((*map(floatToGoString, b.bounds), "+Inf"), b.counts):
            running += count
            cumulative.append((bound, running))
        yield HistogramMetricFamily("parcours_lag_seconds", "From acceptance (log commit) to stored in ClickHouse.",
                                    buckets=cumulative, sum_value=b.total)
