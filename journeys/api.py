"""The admin API of journeys/, under the collector's authenticated /api mount (collector/admin.py).

- `POST /api/conversions`, `/api/cancellations`, `/api/brokers`, `/api/costs`, `/api/calls` (callcentre/calls.py): the file as the body (CSV or JSON), with
  `?profile=NAME&source=NAME&dry_run=true`; the summary as JSON, or with `?progress=true` JSON lines of
  progress then the summary (journeys.imports.ndjson).
- `GET /api/import/rejects?kind=&source=&all=true`: the rejected lines still to fix.
- `POST /api/persons/stitch`: a stitching run now; `GET /api/persons/status`: persons, keys, the last run.
- `GET /api/reports/NAME?from=…&to=…&format=json`: a report (journeys.reports), the figures the CLI prints;
  `POST` with the options as JSON, for a phone (hashed here, never in a URL). A caller that goes away has
  its report's queries stopped (collector.storage.Ticket). Figures already computed from the same data are
  answered at once (journeys/reports/results.py); `Cache-Control: max-age=N` takes figures up to N seconds
  old, with an `Age` header (the dashboard shows them, then asks for current ones).
- `POST /api/erase` with `{"phone": "06 12 34 56 78"}` (or `visitor`, `crm_id`; `"dry_run": true`): the
  person erased everywhere, the write-ahead log sealed and stored first.
- `GET /api/export/conversions?network=google-ads|meta&from=&to=`: offline conversions for an ad network.
- `GET /api/export/retractions?network=google-ads&from=&to=`: the cancelled ones among them, to retract.

The work is the same function the command line runs when no collector does (journeys/cli.py).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

import msgspec

from callcentre import calls
from collector import admin, deadletters, old_parts, output, redact, repeats
from collector.admin import bounded_body
from collector.errors import BadParameter, Problem, flag
from collector.redact import phone_like
from collector.since import parse_since
from collector.storage import Cancelled, Store
from collector.wal import WalError
from journeys import adnetworks, brokers, cancellations, conversions, costs, erase, imports, persons, reports
from journeys.imports import Context
from journeys.reports import person as reports_person
from journeys.reports import results
from journeys.reports.base import said
from tagplan.messages import did_you_mean

log = logging.getLogger("parcours.reports")

MAX_IMPORT_BYTES = 1 << 30
"""The largest file the API takes in one request (a million sales lines are ~120 MB)."""


MAX_OPTIONS_BYTES = 16 << 10
"""The largest JSON object of options a request sends in its body (a report's options, an erasure's key)."""


async def options_body(request: Request) -> bytes:
    """A body of options (a report's, an erasure's key): a viewer may POST a report's options, and nothing of
    MAX_OPTIONS_BYTES is an option."""
    return await bounded_body(request, MAX_OPTIONS_BYTES,
                              f"the options are larger than {MAX_OPTIONS_BYTES} bytes: send only the options")


def once(request: Request) -> dict[str, str]:
    """The query string's options, each given once: one given twice is refused (the last one was read, silently:
    a retraction named after the wrong conversion action changes nothing at Google)."""
    raw = dict(request.query_params)
    if len(raw) < len(request.query_params.multi_items()):
        twice = said(next(k for k in raw if len(request.query_params.getlist(k)) > 1))
        raise BadParameter(f'"{twice}" is given more than once; give each option once',
                           error_code="option_repeated", option=twice)
    return raw


def url_options(request: Request) -> dict[str, str]:
    """A report's options from the query string, where a phone never goes (URLs are logged and kept)."""
    raw = once(request)
    if "phone" in raw:
        raise BadParameter("phone: send it in a POST body ({\"phone\": \"06 12 34 56 78\"}), never in a URL",
                           error_code="phone_in_url")
    return raw


def store_of(request: Request) -> Store:
    """The store journeys/ works on: its own clients, never the batch writer's."""
    state = request.app.state
    return getattr(state, "journeys_store", None) or state.store


"""A query flag's spellings (absent or empty: false). Anything else is refused: `dry_run=on` read as false
would import, which the sender meant to only check."""


async def _import(request: Request, import_file: Callable) -> Response:
    body = await bounded_body(request, MAX_IMPORT_BYTES, f"the file is larger than {MAX_IMPORT_BYTES} bytes: split it")
    params = request.query_params
    store = store_of(request)
    ctx = Context(request.app.state.plan, request.app.state.settings.secret)
    profile, source, dry_run = params.get("profile") or None, params.get("source") or "api", flag(request.query_params, "dry_run")

    def work(progress):
        return import_file(store, ctx, io.BytesIO(body), source=source, profile=profile, dry_run=dry_run,
                           progress=progress)

    if flag(request.query_params, "progress"):
        return StreamingResponse(iterate_in_threadpool(imports.ndjson(work)), media_type="application/x-ndjson")
    summary = await run_in_threadpool(work, None)
    return Response(output.encode(summary.as_dict()), media_type="application/json")


async def import_conversions(request: Request) -> Response:
    """POST /api/conversions: offline sales (CSV or JSON body)."""
    return await _import(request, conversions.import_file)


async def import_cancellations(request: Request) -> Response:
    """POST /api/cancellations: cancellations (withdrawals) of sales already imported."""
    return await _import(request, cancellations.import_file)


async def import_brokers(request: Request) -> Response:
    """POST /api/brokers: the broker and adviser table."""
    return await _import(request, brokers.import_file)


async def import_costs(request: Request) -> Response:
    """POST /api/costs: campaign costs per day."""
    return await _import(request, costs.import_file)


async def import_calls(request: Request) -> Response:
    """POST /api/calls: a call log (callcentre/calls.py)."""
    return await _import(request, calls.import_file)


async def import_rejects(request: Request) -> Response:
    """GET /api/import/rejects?kind=conversions&source=FILE&all=true: rejected lines (unresolved unless all)."""
    params = request.query_params
    result = await run_in_threadpool(imports.rejects, store_of(request), params.get("kind") or None,
                                     params.get("source") or None, flag(request.query_params, "all"))
    return Response(output.encode(result), media_type="application/json")


async def persons_stitch(request: Request) -> Response:
    """POST /api/persons/stitch?full=true: a stitching run now (and the plan's brokers), rather than at the next
    turn; `full` reads every stored row."""
    background = getattr(request.app.state, "journeys", None)
    full = flag(request.query_params, "full")
    if background is not None and not full:
        run = await run_in_threadpool(background.turn)
    else:
        run = await run_in_threadpool(lambda: persons.stitch(store_of(request), persons.config(request.app.state.plan),
                                                             full=full))
    reports_turn = getattr(request.app.state, "journeys_reports", None)
    if reports_turn is not None:  # the persons changed: the dashboard's views computed again now (a demo's seed)
        reports_turn.poke()
    return Response(output.encode(run.as_dict()), media_type="application/json")


async def persons_status(request: Request) -> Response:
    """GET /api/persons/status: persons, keys, keys left out, the last run."""
    doc = await run_in_threadpool(persons.status, store_of(request))
    background = getattr(request.app.state, "journeys", None)
    doc["error"] = background.error if background is not None else None
    return Response(output.encode(doc), media_type="application/json")


async def report(request: Request) -> Response:
    """GET /api/reports/NAME: one report, its options in the query string; JSON unless format=table|csv|excel.
    POST: the options as a JSON object in the body, for a value that must stay out of URLs and logs: a
    `phone`, hashed here as the collector hashes it (only its key reaches the report); the query string may
    hold the others (format=csv), an option given in both is refused. A bad option is a 400
    saying what to fix, an unknown report a 404 (reports.ReportError, a Problem)."""
    state = request.app.state
    if request.method == "POST":
        body = await options_body(request)
        try:
            doc = msgspec.json.decode(body)
        except msgspec.DecodeError:
            raise BadParameter("send the report's options as a JSON object", error_code="options_not_object") from None
        if not isinstance(doc, dict):
            raise BadParameter("send the report's options as a JSON object", error_code="options_not_object")
        refuse_repeated_keys(body)
        for key, value in doc.items():
            if isinstance(value, (list, dict)):
                raise BadParameter(f"{said(key)}: send one value (a string, a number or true/false)",
                                   error_code="option_not_one_value", option=said(key))
        raw = {str(k): v if isinstance(v, str) else json_text(v) for k, v in doc.items() if v is not None}
        in_url = url_options(request)  # format=csv in the URL, the rest in the body: both read, none twice
        if twice := sorted(set(in_url) & set(doc)):
            raise BadParameter(f"{said(twice[0])}: given in the URL and in the body; give it once",
                               error_code="option_repeated", option=said(twice[0]))
        raw = {**in_url, **raw}
        if "phone" in raw:
            raw["phone_key"] = reports_person.hash_phone(raw.pop("phone"), state.plan.default_region,
                                                         state.settings.secret)
    else:
        raw = url_options(request)
    _keyed_quote_id(raw, state)
    if not raw.get("format"):  # given empty: the API's default all the same
        raw["format"] = "json"
    kept = getattr(state, "report_results", None) or results.Results(store_of(request), enabled=False)
    # Nobody waits for the figures any more (the page moved on): the engine's cores go to what is asked.
    name = request.path_params["name"] if request.path_params["name"] in reports.REPORTS else "?"
    try:
        answer = await admin.watched(request, kept.respond, state.plan, request.path_params["name"], raw,
                                     results.max_age(request.headers.get("cache-control")),
                                     gone=lambda: log.info("report %s: its caller went away; its queries are stopped", name))
    except admin.Gone as gone:
        log.debug("report %s: %s", name, gone)
        return Response(status_code=Cancelled.status)
    headers = {"Age": str(answer.age)} if answer.age is not None else None  # older than the data (max-age)
    return Response(answer.body, media_type=answer.media_type, headers=headers)


def _keyed_quote_id(raw: dict[str, str], state) -> dict[str, str]:
    """`raw` with its quote id as the collector keeps it (a phone number in it is its keyed hash): the report and
    its printed SQL look up that."""
    if raw.get("quote_id"):
        raw["quote_id"] = redact.of(state.plan).keyed(raw["quote_id"], state.settings.secret)
    return raw


async def report_sql(request: Request) -> Response:
    """GET /api/reports/NAME/sql?…: the report's SQL preceded by its parameters (`SET param_…`), with the running
    collector's plan, to paste into clickhouse-client (`parcours report NAME --sql`)."""
    raw = _keyed_quote_id(url_options(request), request.app.state)
    text = reports.sql_for(store_of(request).database, request.app.state.plan, request.path_params["name"], raw)
    return Response(text, media_type="text/plain; charset=utf-8")


def refuse_repeated_keys(body: bytes) -> None:
    """A JSON body that gives a key twice is refused (a 400): its reader would take the last value, the
    sender may have meant the first (the same rule as events and their envelopes, collector/repeats.py)."""
    path = repeats.repeated_key(body)
    if path:  # a key is anyone's text: a phone number typed as one is masked (said)
        key = said(".".join(path))
        raise BadParameter(f"{key}: given more than once; send each key once", error_code="option_repeated", option=key)


def json_text(value) -> str:
    """A JSON option that is not a string (a number, true) as the text a query string would carry."""
    return "true" if value is True else "false" if value is False else str(value)


class LogNotStored(Problem):
    status = 503


SEAL_TIMEOUT = 60.0


_ERASE_BODY = ('send a JSON object with one of "phone", "visitor" or "crm_id" (and "dry_run": true to see what '
               "would be removed)")


def _refuse_loose_keys(doc: dict) -> None:
    """An erasure's body read strictly: a mistyped key ({"dryrun": true}) or value ({"visitor": ["a"]}) would
    erase for real, or erase someone else."""
    for key, value in doc.items():
        if key not in (*erase.KINDS, "dry_run"):
            raise BadParameter(f'{phone_like(str(key))[:40]}: unknown key{did_you_mean(str(key), (*erase.KINDS, "dry_run"))}; '
                               + _ERASE_BODY)
        if key == "dry_run" and not isinstance(value, bool):
            raise BadParameter("dry_run: send true or false (JSON booleans)")
        if key != "dry_run" and not isinstance(value, str):
            raise BadParameter(f"{key}: send the {key} as a JSON string")


async def erase_person(request: Request) -> Response:
    """POST /api/erase, body {"phone"|"visitor"|"crm_id": value, "dry_run": bool}: the person erased
    everywhere. The write-ahead log is sealed and stored first, so no copy stays in it."""
    body = await options_body(request)
    try:
        doc = msgspec.json.decode(body)
    except msgspec.DecodeError:
        doc = None
    if isinstance(doc, dict):
        refuse_repeated_keys(body)  # {"phone": A, "phone": B} would erase B: say so instead
        _refuse_loose_keys(doc)
    given = [k for k in erase.KINDS if isinstance(doc, dict) and doc.get(k)]
    if len(given) != 1:
        raise BadParameter(_ERASE_BODY)
    kind, dry_run = given[0], doc.get("dry_run", False)
    state = request.app.state
    wal, writer = getattr(state, "wal", None), getattr(state, "writer", None)
    if not dry_run and wal is not None:
        try:
            sealed = await wal.seal()
            writer.flush_now()
            await wal.stored(sealed, SEAL_TIMEOUT)
        except WalError as exc:
            raise LogNotStored(f"{exc}; nothing was erased: erase again once ClickHouse is back") from None
        dead_letters = getattr(writer, "dead_letters", None)
        # Rows even dead_letters refused, kept in a file (collector/deadletters.py): moved into the table first, or
        # the next start would bring the person's back.
        left = await run_in_threadpool(dead_letters.recover, True) if dead_letters is not None else []
        if left:
            raise LogNotStored(deadletters.not_moved(left))
    result = await run_in_threadpool(
        lambda: erase.erase(store_of(request), state.plan, state.settings.secret, kind, str(doc[kind]),
                            dry_run=dry_run, paused=writer.paused if writer is not None else old_parts.no_pause))
    kept = getattr(state, "report_results", None)
    if kept is not None and not dry_run:
        kept.clear()  # no figure computed with the person's data outlives it
    return Response(output.encode(result.as_dict()), media_type="application/json")


async def export_conversions(request: Request) -> Response:
    """GET /api/export/conversions?network=google-ads|meta&from=&to=&name=&event=&model=: the network's file of
    offline conversions, with what was left out of it (journeys/adnetworks.py)."""
    params = once(request)
    since, until = parse_since(params.get("from")), parse_since(params.get("to") or "0m")
    done = await run_in_threadpool(
        adnetworks.export, store_of(request), request.app.state.plan, params.get("network", ""), since, until,
        conversion_name=params.get("name") or "Offline sale", event_name=params.get("event") or "Purchase",
        model=params.get("model") or None)
    return Response(output.encode(done.as_dict()), media_type="application/json")


async def export_retractions(request: Request) -> Response:
    """GET /api/export/retractions?network=google-ads&from=&to=&name=: Google Ads' adjustments file retracting the
    sales cancelled in the period that the conversions file sends (journeys/adnetworks.py)."""
    params = once(request)
    since, until = parse_since(params.get("from") or "90d"), parse_since(params.get("to") or "0m")
    done = await run_in_threadpool(
        adnetworks.retractions, store_of(request), request.app.state.plan, params.get("network", ""), since, until,
        conversion_name=params.get("name") or "Offline sale")
    return Response(output.encode(done.as_dict()), media_type="application/json")


ROUTES: list[BaseRoute] = [
    Route("/conversions", import_conversions, methods=["POST"]),
    Route("/cancellations", import_cancellations, methods=["POST"]),
    Route("/brokers", import_brokers, methods=["POST"]),
    Route("/costs", import_costs, methods=["POST"]),
    Route("/calls", import_calls, methods=["POST"]),
    Route("/import/rejects", import_rejects, methods=["GET"]),
    Route("/persons/stitch", persons_stitch, methods=["POST"]),
    Route("/persons/status", persons_status, methods=["GET"]),
    Route("/reports/{name}", report, methods=["GET", "POST"]),
    Route("/reports/{name}/sql", report_sql, methods=["GET"]),
    Route("/erase", erase_person, methods=["POST"]),
    Route("/export/conversions", export_conversions, methods=["GET"]),
    Route("/export/retractions", export_retractions, methods=["GET"]),
]
"""journeys' admin endpoints, relative to /api."""
