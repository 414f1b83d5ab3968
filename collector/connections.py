"""HTTP connections: read deadlines, a keep-alive idle timeout and a cap, so no client can hold the server.

uvicorn closes a keep-alive connection that stays idle after a response (`--keep-alive`), but nothing
else: a connection that never sends a request, or sends its headers or body a byte at a time, is held as
long as the client wishes, and enough of them exhaust the process's open files (then no new connection is
accepted at all). `GuardedProtocol` is uvicorn's httptools protocol with:

- a header deadline (`--header-timeout`): from the connection's opening, or from the first byte of its next
  request, to the end of the request's headers; then `408` and close (a connection that sent nothing is
  just closed);
- a body deadline (`--body-timeout`): from the end of the headers to the end of the body; then `408`;
- a cap on open connections (`--max-connections`, lowered to what the open-file limit allows): a new
  connection over the cap closes the connection that has been idle longest (waiting for a request, not
  being answered), so a flood of idle connections cannot keep new clients out; when every connection is
  busy, the new one gets `503` with `Retry-After` and is closed.

Timers are armed only for a request that spans several reads: a request read whole costs no timer.
"""

from __future__ import annotations

import functools
import json
import logging
import resource
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from collector.logs import Throttle
from collector.messages import answer

log = logging.getLogger("parcours.connections")
_throttled = Throttle(log)

RESERVED_FILES = 256
"""Open files kept for everything but connections: the log's segments, the embedded engine's parts."""


@dataclass(frozen=True)
class Limits:
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_connections: int = 4096
    retry_after: int = 5


def connection_cap(wanted: int) -> int:
    """Raise the open-file limit to its hard limit; the connections the process can then hold: `wanted`, or
    fewer when the limit leaves less beside the files the process needs (RESERVED_FILES, or a quarter)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        try:
            target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    room = soft - max(RESERVED_FILES, soft // 4)
    if room < wanted:
        log.warning("--max-connections %d lowered to %d: the open-file limit is %d (raise it with ulimit -n)",
                    wanted, max(room, 1), soft)
    return max(min(wanted, room), 1)


def _response(status: bytes, message: str, extra: bytes = b"") -> bytes:
    body = json.dumps({"error": message}).encode()
    return (b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\ncontent-length: %d\r\n" % len(body)
            + extra + b"connection: close\r\n\r\n" + body)


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with read deadlines and the connection cap (see the module's doc)."""

    def __init__(self, *args, limits: Limits = Limits(), **kwargs):
        super().__init__(*args, **kwargs)
        self.limits = limits
        self._deadline = None  # the timer of the header or body deadline under way
        self._serving = False  # a request's headers are read and its response is not complete
        self._started = False  # bytes of a request are read, its headers are not complete
        self._idle_since = 0.0

    # ---- uvicorn's protocol, extended

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._idle_since = self.loop.time()
        if len(self.connections) > self.limits.max_connections and not self._evict():
            _throttled.log(logging.WARNING, "connection refused: %d connections open (--max-connections), "
                           "all of them busy", len(self.connections) - 1)
            transport.write(_response(b"503 Service Unavailable", answer("too_many_connections"),
                                      b"retry-after: %d\r\n" % self.limits.retry_after))
            transport.close()
            return
        self._arm(self.limits.header_timeout, self._headers_late)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.transport.is_closing():
            return
        if self._serving:
            if self.cycle is not None and self.cycle.more_body and self._deadline is None:
                self._arm(self.limits.body_timeout, self._body_late)  # the body comes in several reads
        elif self._started and self._deadline is None:
            self._arm(self.limits.header_timeout, self._headers_late)  # a keep-alive request, in pieces

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._started = True

    def on_headers_complete(self) -> None:
        self._disarm()
        self._started, self._serving = False, True
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._serving = False
        self._idle_since = self.loop.time()
        self._disarm()

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    # ---- deadlines

    def _arm(self, seconds: float, callback) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _headers_late(self) -> None:
        self._deadline = None
        if self.transport.is_closing() or self._serving:
            return
        if self._started:  # a request begun and not finished: say why it ends
            self.transport.write(_response(b"408 Request Timeout", answer("headers_late",
                                                                         seconds=self.limits.header_timeout)))
        self.transport.close()

    def _body_late(self) -> None:
        self._deadline = None
        if self.transport.is_closing() or not self._serving:
            return
        cycle = self.cycle
        if cycle is not None and not cycle.response_started:
            self.transport.write(_response(b"408 Request Timeout", answer("body_late",
                                                                         seconds=self.limits.body_timeout)))
        if cycle is not None:  # the app reading the body hears the client is gone; its answer goes nowhere
            cycle.disconnected = True
            cycle.message_event.set()
        self.transport.close()

    # ---- the cap

    def _evict(self) -> bool:
        """Close the connection idle longest (none of its requests under way) to make room; False if none."""
        idle = [c for c in self.connections
                if c is not self and isinstance(c, GuardedProtocol) and not c._serving and not c.transport.is_closing()]
        if not idle:
            return False
        oldest = min(idle, key=lambda c: c._idle_since)
        oldest._disarm()
        oldest.transport.close()
        return True


def server_options(settings) -> dict[str, Any]:
    """uvicorn.run's options for the collector's connections (`settings`: collector.settings.Settings)."""
    limits = Limits(settings.header_timeout, settings.body_timeout, connection_cap(settings.max_connections),
                    settings.retry_after)
    # A stop waits for the requests being answered as long as it keeps flushing the log, then cuts them off
    # (admin.watched stops their queries): a statement that never ends never holds the stop.
    return {"http": functools.partial(GuardedProtocol, limits=limits), "timeout_keep_alive": settings.keep_alive,
            "timeout_graceful_shutdown": settings.shutdown_timeout}
