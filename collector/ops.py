"""Operations endpoints: /healthz (liveness), /readyz (can it take and store events), /metrics."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from collector.metrics import CONTENT_TYPE

STALLED = 5.0
"""Seconds a call to ClickHouse may wait before /readyz says degraded: an insert of a full batch takes well
under a second; a ClickHouse server that hangs (stopped, its disk stuck) shows within this, not after
--clickhouse-timeout."""


async def healthz(request: Request) -> JSONResponse:
    """The process is alive and its event loop answers; nothing more (restart it when this fails)."""
    return JSONResponse({"status": "ok", "plan_version": request.app.state.plan.version})


async def readyz(request: Request) -> JSONResponse:
    """200 when events are accepted and reach ClickHouse; 503 with the reasons when degraded."""
    state = request.app.state
    wal, writer = getattr(state, "wal", None), getattr(state, "writer", None)
    if wal is None or writer is None:
        return JSONResponse({"status": "starting", "reasons": ["the collector is starting"]}, status_code=503)
    reasons = []
    if not writer.running:
        reasons.append("the batch writer is not running (see the log)")
    if writer.error:
        since = time.monotonic() - (writer.failing_since or time.monotonic())
        reasons.append(f"ClickHouse inserts failing for {since:.0f} s, retried with backoff: {writer.error}")
    if writer.fault:
        since = time.monotonic() - (writer.fault_since or time.monotonic())
        reasons.append(f"the batch writer is held up for {since:.0f} s, retried with backoff: {writer.fault}")
    if wal.failing:
        reasons.append(f"the write-ahead log cannot be written ({wal.failing}): POST /collect answers 503 "
                       "until it can (a full disk: free space on --wal-dir)")
    waiting = writer.waiting
    if waiting > STALLED:
        reasons.append(f"ClickHouse has not answered for {waiting:.0f} s (an insert or a health check waiting; "
                       f"given up after --clickhouse-timeout {state.settings.clickhouse_timeout} s, then retried)")
    if wal.full:
        reasons.append(f"write-ahead log full ({wal.depth_bytes} of {wal.max_bytes} bytes): "
                       "POST /collect answers 503 until ClickHouse catches up")
    body = {"status": "degraded" if reasons else "ready", "wal_records": wal.depth_records,
            "wal_bytes": wal.depth_bytes}
    if reasons:
        body["reasons"] = reasons
    return JSONResponse(body, status_code=503 if reasons else 200)


async def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE)
