"""A ClickHouse HTTP server in front of the embedded engine (chDB). A test fixture, not product code.

`parcours serve --workers N` needs a ClickHouse server, and test machines have none. This process owns one
chDB data directory and answers the part of ClickHouse's HTTP interface that clickhouse-connect's
HttpClient uses, so several collector processes write into one real engine over HTTP:

- `GET /ping`; `GET`/`POST /` with the statement in the `query` URL parameter, the body, or both (the
  parameter first); `database`, `default_format`, `param_<name>` and settings as URL parameters.
- Each request runs on a fresh engine connection, so its settings and database end with it. Sessions are
  not kept (`session_id` is ignored): the collector holds no session state.
- `INSERT INTO t [(cols)] FORMAT f` followed by data: the data goes to a temp file, inserted with
  `INSERT INTO t [(cols)] FROM INFILE '<file>' FORMAT f`, as clickhouse-connect's own chDB backend does.
  Request bodies may be compressed (lz4, gzip, deflate); responses are not compressed.
- Answers carry X-ClickHouse-Format, -Summary, -Timezone, -Query-Id; errors are HTTP 500 with ClickHouse's
  `Code: N. DB::Exception: …` text and X-ClickHouse-Exception-Code, which clickhouse-connect turns into
  DatabaseError.

Engine calls are serialised by one lock. Run: `python -m e2e.chserver --port 8123 --data /tmp/ch`.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import tempfile
import threading
import zlib

import chdb
import lz4.frame
import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

# URL parameters the HTTP layer consumes (clickhouse-connect's transport settings); the rest are settings.
TRANSPORT = {
    "query", "database", "default_format", "session_id", "session_timeout", "session_check", "query_id",
    "quota_key", "compress", "decompress", "buffer_size", "wait_end_of_query", "client_protocol_version", "role",
    "send_progress_in_http_headers", "http_headers_progress_interval_ms", "enable_http_compression",
    "cancel_http_readonly_queries_on_client_close",
}
_INSERT_DATA = re.compile(rb"\s*INSERT\s+INTO\s+(.+?)\s+FORMAT\s+(\w+)[ \t]*\r?\n?", re.IGNORECASE | re.DOTALL)
_FORMAT = re.compile(rb"\bFORMAT\s+(\w+)\s*;?\s*$", re.IGNORECASE)
_CODE = re.compile(r"Code: (\d+)\.")
_DECOMPRESS = {"lz4": lz4.frame.decompress, "gzip": gzip.decompress, "deflate": zlib.decompress}


class Engine:
    """One chDB data directory, one call at a time."""

    def __init__(self, path: str):
        self.path = path
        self.lock = threading.Lock()
        self._owner = chdb.connect(path)  # holds the engine (and its file lock) for the process's life
        self.timezone = self._owner.query("SELECT timezone()", "TabSeparated").bytes().decode().strip()

    def run(self, sql: bytes, fmt: str, settings: dict[str, str], database: str | None, params: dict[str, str]):
        with self.lock:
            conn = chdb.connect(self.path)
            try:
                # readonly last: once set, the connection refuses any other SET
                for name, value in sorted(settings.items(), key=lambda kv: kv[0] == "readonly"):
                    conn.query(f"SET {_identifier(name)} = {_literal(value)}")
                if database:
                    conn.query(f"USE {_identifier(database)}")
                return conn.query(sql, fmt, params=params)
            finally:
                conn.close()


def _identifier(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"Code: 115. DB::Exception: Unknown setting or database name {name!r}. (UNKNOWN_SETTING)")
    return name


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def app_for(engine: Engine) -> Starlette:
    async def ping(request: Request) -> Response:
        return PlainTextResponse("Ok.\n")

    async def query(request: Request) -> Response:
        args = dict(request.query_params)
        body = await request.body()
        encoding = request.headers.get("content-encoding")
        try:
            if encoding and encoding != "identity":
                if encoding not in _DECOMPRESS:
                    raise ValueError(f"Code: 36. DB::Exception: Unknown Content-Encoding {encoding}. (BAD_ARGUMENTS)")
                body = _DECOMPRESS[encoding](body)
            head = args.get("query", "").encode()
            sql = head + b"\n" + body if head and body else head or body
            return await _run(engine, sql, args)
        except Exception as exc:  # chDB raises ChdbError/RuntimeError with ClickHouse's own text
            message = str(exc).strip()
            code = _CODE.search(message)
            statement = (args.get("query", "").encode() or body)[:120]
            print(f"error: {statement!r}: {message.splitlines()[0]}", file=sys.stderr, flush=True)
            return PlainTextResponse(message + "\n", status_code=500,
                                     headers={"X-ClickHouse-Exception-Code": code.group(1) if code else "1001"})

    return Starlette(routes=[Route("/ping", ping), Route("/", query, methods=["GET", "POST"])])


async def _run(engine: Engine, sql: bytes, args: dict[str, str]) -> Response:
    settings = {k: v for k, v in args.items() if k not in TRANSPORT and not k.startswith("param_")}
    params = {k[len("param_"):]: v for k, v in args.items() if k.startswith("param_")}
    database = args.get("database")
    fmt = args.get("default_format", "TabSeparated")
    insert = _INSERT_DATA.match(sql)
    if insert and not sql[insert.end():].strip():
        insert = None  # a statement only (INSERT … SELECT, VALUES): run as written
    if insert:
        with tempfile.NamedTemporaryFile(suffix=".data") as tmp:
            tmp.write(sql[insert.end():])
            tmp.flush()
            statement = b"INSERT INTO %s FROM INFILE %s FORMAT %s" % (
                insert.group(1), _literal(tmp.name).encode(), insert.group(2))
            result = await run_in_threadpool(engine.run, statement, fmt, settings, database, params)
    else:
        result = await run_in_threadpool(engine.run, sql, fmt, settings, database, params)
    data = result.bytes() or b""
    written = result.rows_read() if insert else 0  # an INFILE insert reads the rows it writes
    summary = {"read_rows": str(result.rows_read()), "read_bytes": str(result.bytes_read()),
               "written_rows": str(written), "elapsed_ns": str(int(result.elapsed() * 1e9))}
    headers = {"X-ClickHouse-Summary": json.dumps(summary), "X-ClickHouse-Timezone": engine.timezone,
               "X-ClickHouse-Query-Id": args.get("query_id", ""), "X-ClickHouse-Server-Display-Name": "chserver"}
    trailing = None if insert else _FORMAT.search(sql)
    if data or trailing:  # a statement with a result names its format, even when it has no rows
        headers["X-ClickHouse-Format"] = trailing.group(1).decode() if trailing else fmt
    return Response(data, headers=headers, media_type="application/octet-stream")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data", required=True, help="chDB data directory this process owns")
    args = parser.parse_args()
    uvicorn.run(app_for(Engine(args.data)), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
