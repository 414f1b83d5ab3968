"""Event times: the device clock corrected once per batch, and bounded by the collector's clock.

A device's clock may be wrong, but the time between creating an event and sending its batch is right
(Snowplow's derived time): an event's time is `t + (received - sent)`, the same correction for every
event of a batch, so events sent together keep their order and the gaps between them. An event cannot
have happened after it was received: a time past that (an event made after the batch's `sent`, which the
tag never does) is set to the receipt.

`events` is partitioned by the month of `client_ts`, the device's own time: left as sent, a device would
choose the partitions (101 events in 101 months made every insert of their batch fail). So a `client_ts`
outside `[received - max_age, received + max_ahead]` is replaced by the corrected time, the device's kept
in `client_ts_original`; and an event made more than `max_age` before its batch was sent (its corrected
time that old) is rejected, kept in `rejected_events` with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from collector.messages import reason

DAY_MS = 86_400_000
HOUR_MS = 3_600_000


@dataclass(frozen=True)
class TimeBounds:
    """How far an event's times may be from the collector's clock (--max-event-age, --max-clock-ahead)."""

    max_age_days: int = 30
    max_ahead_hours: int = 24

    @property
    def too_old(self) -> str:
        """The rejection reason of an event made too long before it was sent."""
        return reason("too_old", days=self.max_age_days)


@dataclass(frozen=True)
class EventTimes:
    """An event's times, Unix milliseconds."""

    ts: int
    client_ts: int
    client_ts_original: int | None  # the device's time, when client_ts holds the corrected one
    too_old: bool


def batch_sent(sent: int, times: list[int]) -> int:
    """The batch's send time by the device clock: as the batch says, or its latest event's without it."""
    return sent or max(times, default=0)


def event_times(t: int, sent: int, received: int, bounds: TimeBounds) -> EventTimes:
    """Corrected and bounded times of an event made at `t`, in a batch sent at `sent` (device clock),
    received at `received` (collector clock)."""
    ts = min(t + (received - sent), received)
    oldest = received - bounds.max_age_days * DAY_MS
    if oldest <= t <= received + bounds.max_ahead_hours * HOUR_MS:
        return EventTimes(ts, t, None, ts < oldest)
    return EventTimes(ts, max(ts, 0), t, ts < oldest)
