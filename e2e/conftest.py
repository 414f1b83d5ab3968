"""e2e fixtures: the real collector in its own process on a free port, and Debian's Chromium."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("PARCOURS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
ADMIN_TOKEN = "e2e-admin-token"
LEADS_KEY = "6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b"
"""Seals call-back phones (the example plan has lead rules: required outside --demo)."""

# Playwright's `expect` gives up after 5 s by default: on a loaded 2-core CI a dashboard's first report can
# take longer. A bound for a failure, not a speed claim (as wait_rows below).
expect.set_options(timeout=30_000)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Collector:
    """A running `parcours serve`, with SQL through its admin API (the process owns the engine)."""

    def __init__(self, url: str, data: Path, log: Path, plan: Path | None = None):
        self.url, self.data, self.log, self.plan = url, data, log, plan

    def sql(self, statement: str) -> list[dict]:
        req = urllib.request.Request(f"{self.url}/api/sql", data=statement.encode(), method="POST",
                                     headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            doc = json.loads(resp.read())
        return [dict(zip(doc["columns"], row)) for row in doc["rows"]]

    def wait_rows(self, statement: str, count: int, timeout: float = 30.0) -> list[dict]:
        """Poll until the query returns at least `count` rows (events are stored asynchronously, within
        --batch-age); the test fails, saying what did arrive, when they do not within `timeout`. The
        timeout is generous on purpose (a loaded CI machine): it bounds a failure, it is not a speed claim."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.sql(statement)
            if len(rows) >= count:
                return rows
            if time.monotonic() > deadline:
                pytest.fail(f"expected at least {count} row(s) within {timeout:.0f} s, got {len(rows)}: "
                            f"{rows[:5]}\n  for: {statement}")
            time.sleep(0.2)


def start_collector(data: Path, *args: str, plan: Path = ROOT / "examples" / "moto-insurance.yaml",
                    log_name: str = "collector.log", preexec_fn=None) -> tuple[subprocess.Popen, str, Path]:
    """`parcours serve` on a free port over `data`, once /healthz answers: (process, url, log file).
    `preexec_fn` runs in the child before it starts (e.g. to lower its open-file limit)."""
    port = _free_port()
    log = data / log_name
    (data / "admin-token").write_text(ADMIN_TOKEN)  # what `parcours sql` reads beside the data
    env = {**os.environ, "PARCOURS_ADMIN_TOKEN": ADMIN_TOKEN, "PARCOURS_SECRET": "e2e-secret",
           "PARCOURS_LEADS_KEY": LEADS_KEY}
    with log.open("a") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "collector", "serve", "--plan", str(plan),
             "--port", str(port), "--data-dir", str(data), *args],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT, preexec_fn=preexec_fn,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1)
            return proc, url, log
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"collector did not start:\n{log.read_text()}")
            time.sleep(0.2)


def stop_collector(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=40)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def collector(tmp_path_factory):
    yield from _serve(tmp_path_factory, ROOT / "examples" / "moto-insurance.yaml")


@pytest.fixture(scope="session")
def collector_consent(tmp_path_factory):
    """A second collector whose plan has consent mode `required`."""
    yield from _serve(tmp_path_factory, ROOT / "e2e" / "plans" / "consent-required.yaml")


@pytest.fixture(scope="session")
def collector_markup(tmp_path_factory):
    """A collector whose plan (the example's) marks moto_quote `markup: true`: its tag carries the declarative helper."""
    plan = tmp_path_factory.mktemp("plan") / "markup.yaml"
    plan.write_text((ROOT / "examples" / "moto-insurance.yaml").read_text().replace(
        "    label: Devis assurance moto\n", "    label: Devis assurance moto\n    markup: true\n"))
    yield from _serve(tmp_path_factory, plan)


def _serve(tmp_path_factory, plan: Path):
    data = tmp_path_factory.mktemp("collector")
    proc, url, log = start_collector(data, "--site-dir", str(ROOT / "examples" / "demo-site"), plan=plan)
    yield Collector(url, data, log, plan)
    stop_collector(proc)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failed e2e test, attach the log of each server it used (a collector, a ClickHouse front) to the report."""
    report = yield
    if report.failed:
        for name, value in getattr(item, "funcargs", {}).items():
            log = getattr(value, "log", None)
            if isinstance(log, Path):
                report.sections.append((f"{name} log", log.read_text() if log.exists() else "(no log)"))
    return report
