"""Logging setup: readable lines for people, or JSON lines for a log pipeline (`--log-format json`)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time

from collector.errors import Cutoff

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and any `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        doc.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str, ensure_ascii=False)


def _not_a_cutoff(record: logging.LogRecord) -> bool:
    """Drop the server's traceback for an answer cut off on purpose (errors.Cutoff): the line saying why
    was logged where it happened."""
    return not (record.exc_info and isinstance(record.exc_info[1], Cutoff))


def configure(level: str = "info", fmt: str = "text") -> None:
    """Configure the root logger (uvicorn's loggers propagate to it)."""
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_not_a_cutoff)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        # No line per request (as uvicorn's access_log=False): said here too, since a `--workers N`
        # process configures logging after uvicorn has.
        logging.getLogger(name).propagate = name != "uvicorn.access"
    # The HTTP client's own lines on each failed call to a ClickHouse server ("Retrying … after connection
    # broken", "Unexpected Http Driver Exception") say again what the collector's line says once per state
    # change (inserts failing, answering again): two more lines per retry while ClickHouse is away.
    for name in ("urllib3.connectionpool", "clickhouse_connect.driver._backend.http_sync"):
        logging.getLogger(name).setLevel(logging.ERROR)


class Throttle:
    """At most `burst` lines per `window` seconds through one logger call site, then one line counting
    those left out: hostile input cannot flood the log."""

    def __init__(self, logger: logging.Logger, burst: int = 10, window: float = 60.0):
        self.logger, self.burst, self.window = logger, burst, window
        self._start, self._count, self._dropped = time.monotonic(), 0, 0

    def log(self, level: int, message: str, *args: object, exc_info: BaseException | None = None) -> None:
        now = time.monotonic()
        if now - self._start >= self.window:
            if self._dropped:
                self.logger.log(level, "%d more like the lines above not logged in the last %.0f s",
                                self._dropped, now - self._start)
            self._start, self._count, self._dropped = now, 0, 0
        if self._count < self.burst:
            self._count += 1
            self.logger.log(level, message, *args, exc_info=exc_info)
        else:
            self._dropped += 1
