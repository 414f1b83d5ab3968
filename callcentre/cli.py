"""`parcours leads` and the call-centre commands, registered into collector/cli.py's `main`.

Each states its work once (target.Op): through the running collector's admin API, which opens the phones with
its own key, or on ClickHouse opened here with `--plan` and `--leads-key`.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import click
import phonenumbers

from callcentre import calls as calls_mod
from callcentre import leads as leads_mod
from callcentre import retention
from callcentre.seal import Sealer, parse_keys
from collector import settings as settings_mod
from collector.errors import Problem
from collector.options import format_option, load_plan, plan_option, target_options
from collector.output import BOM, as_result, csv_text, format_result, spreadsheet_text
from collector.since import FORMS, parse_since
from collector.storage import QueryResult
from collector.target import Op, Target


def leads_key_option(f):
    return click.option(
        "--leads-key", envvar="PARCOURS_LEADS_KEY", default=None, show_envvar=True,
        help="The collector's leads key, to open the phones (when no collector runs) "
             "[default: <data-dir>/leads-key].")(f)


def read_sealer(given: str | None, data_dir: Path) -> Sealer:
    """The sealer of the given key ring, or of the one generated in the data directory."""
    if not given:
        path = data_dir / settings_mod.LEADS_KEY_FILE
        try:
            given = path.read_text().strip()
        except OSError:
            raise Problem("no leads key: set PARCOURS_LEADS_KEY or --leads-key to the collector's "
                          f"(it opens the phones of call-back leads; {path} not readable)") from None
    return Sealer(parse_keys(given))


@click.group(invoke_without_command=True)
@click.option("--since", default="24h", show_default=True, help=f"Leads who left the form since then. Forms: {FORMS}.")
@click.option("--form", default=None, help="Only the leads of this form.")
@click.option("--min-step", type=click.IntRange(1), default=None,
              help="Only visitors who left at this step (1 = the form's first) or a later one [default: each "
                   "form's from_step].")
@plan_option("The plan with the lead rules (when no collector runs; a running collector uses its own).")
@leads_key_option
@target_options
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "excel", "json"]), default="table", show_default=True,
              help="An aligned table to read; CSV for a dialler or a program; `excel`: CSV as a French Excel opens "
                   "it (UTF-8 with a BOM, `;`, phones written +33 6 31 42 53 65 so they stay text); a JSON array "
                   "of objects.")
@click.pass_context
def leads(ctx, target: Target, since, form, min_step, plan, leads_key, fmt):
    """Call-back leads: visitors who ticked the call-back box with their phone, left a form at a lead step or
    later, and neither came back, submitted nor signed since; with the consent's proof, their deadline (call_by)
    and how they came (lever, campaign, broker). Prints their phone numbers: keep the output as safe as the
    call centre's own files. `parcours leads purge` deletes the phones whose retention ended."""
    if ctx.invoked_subcommand is not None:
        return
    start = parse_since(since)

    def local(store):
        return leads_mod.find(store, load_plan(plan), read_sealer(leads_key, target.data_dir), start, form=form,
                              min_step=min_step or 0)

    doc = target.run(Op("GET", "/api/leads", local, {"since": since, "form": form, "min_step": min_step}))
    click.echo(render(as_result(doc), fmt), nl=False)


def _dialled(number: object) -> object:
    """An E.164 phone as people write it, +33 6 31 42 53 65 (text to a spreadsheet); anything else as it is."""
    try:
        return phonenumbers.format_number(phonenumbers.parse(str(number)), phonenumbers.PhoneNumberFormat.INTERNATIONAL) \
            if isinstance(number, str) and number.startswith("+") else number
    except phonenumbers.NumberParseException:
        return number


def render(result: QueryResult, fmt: str) -> str:
    """Leads as a table, CSV (a header row; `excel`: as a French Excel opens it) or a JSON array of objects."""
    if fmt == "json":
        return json.dumps([dict(zip(result.columns, row)) for row in result.rows], ensure_ascii=False) + "\n"
    if fmt in ("csv", "excel"):
        excel = fmt == "excel"
        # Excel set to French reads `;` between fields and, without a BOM, Latin-1 ("RÃ©gie"); it reads
        # +33631425365 as the number 33631425365, not with the groups a person dials.
        phone = result.columns.index("phone") if excel and "phone" in result.columns else -1
        rows = [["true" if v is True else "false" if v is False else
                 _dialled(v) if i == phone else spreadsheet_text(v) for i, v in enumerate(row)]
                for row in result.rows]
        if excel:
            out = io.StringIO()
            writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
            writer.writerow(result.columns)
            writer.writerows(rows)
            return BOM + out.getvalue()
        return csv_text([result.columns, *rows])
    shown = ("phone", "form_id", "last_step", "abandoned_at", "call_by", "lever", "campaign", "broker_id",
             "time_on_form_s", "wording", "delivery")
    index = [result.columns.index(c) for c in shown]
    return format_result(QueryResult(list(shown), [[row[i] for i in index] for row in result.rows]), "table")


@leads.command()
@target_options
def purge(target: Target):
    """Delete now the call-back phones whose retention ended (the collector does it every hour), and the
    ClickHouse parts that held them; prints how many."""
    doc = target.run(Op("POST", "/api/leads/purge", retention.purge))
    click.echo(f"{doc['contacts']} call-back phone(s) deleted"
               + (f"; {doc['old_parts_left']} old part(s) not yet removed by ClickHouse" if doc["old_parts_left"] else ""))


@click.command()
@click.option("--since", default="30d", show_default=True, help=f"Calls started since then. Forms: {FORMS}.")
@click.option("--until", default=None, help="Calls started before then [default: now].")
@target_options
@format_option()
def calls(target: Target, since, until, fmt):
    """Imported calls and what each matched: the session that held the dialled tracking number (lease), else
    the person who left the caller's phone online (caller_phone), else why not (reason)."""
    start, end = parse_since(since), parse_since(until) if until else parse_since("2299-12-31")
    doc = target.run(Op("GET", "/api/calls", lambda store: calls_mod.matches(store, start, end),
                        {"since": since, "until": until}))
    click.echo(format_result(as_result(doc), fmt), nl=False)


COMMANDS = (leads, calls)
