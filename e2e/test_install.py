"""`pip install parcours` from a built wheel, then `parcours serve` from it, outside the repository.

The wheel is built here (`python -m build --wheel`) and installed in a fresh virtualenv in a temporary
directory; the collector runs from that virtualenv, in a directory with no source tree, on the embedded
engine by default. What it must carry: the package's modules (the migrations among them), the built tag, the
plan starter, the dashboard's built assets and the report SQL files, whichever of them the source tree has.

The fresh virtualenv takes the wheel's dependencies from this repository's virtualenv (a path in a .pth
file: the same packages pyproject.toml lists, which `make setup` installed; not this checkout, whose editable
install is not loaded that way): installing them again would download about 1 GB on every run. Set
PARCOURS_WHEEL_TEST_FULL=1 to install them from the package index instead (about two minutes more).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import time
import urllib.request
import uuid
import zipfile
from pathlib import Path

import pytest

from e2e.conftest import ROOT, _free_port

FULL = os.environ.get("PARCOURS_WHEEL_TEST_FULL") == "1"


def _packaged(root: Path) -> set[str]:
    """What the wheel must carry beside the modules: the built assets and data files the source tree has."""
    wanted = ["collector/static/t.js", "tagplan/starter.yaml", *(str(p.relative_to(root)) for p in
                                                                  (root / "journeys").rglob("*.sql"))]
    dashboard = root / "journeys" / "dashboard" / "static"
    if dashboard.is_dir():
        wanted += [str(p.relative_to(root)) for p in dashboard.rglob("*") if p.is_file()]
    return set(wanted)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # --no-isolation: the build backend of this virtualenv (setuptools, from the test extra), no download
    r = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    (built,) = out.glob("parcours-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("fresh")
    env = home / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True, timeout=120)
    python = env / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
    if FULL:
        r = subprocess.run([*pip, str(wheel)], capture_output=True, text=True, timeout=1200)
    else:
        purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                 capture_output=True, text=True, check=True).stdout.strip()
        Path(purelib, "parcours-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
        r = subprocess.run([*pip, "--no-deps", str(wheel)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return env


def run(venv: Path, *args: str, cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(venv / "bin" / "parcours"), *args], capture_output=True, text=True, cwd=cwd,
                          timeout=180, **kwargs)


def test_the_wheel_carries_the_built_assets_sql_and_migrations(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = _packaged(ROOT) - names
    assert not missing, f"not in the wheel: {sorted(missing)}"
    assert {"collector/schema.py", "collector/segment/api.py", "journeys/conversions.py",
            "tagplan/compile.py"} <= names
    assert not any(n.startswith(("tests/", "e2e/", "examples/", "tag_js/")) for n in names)


def test_the_installed_command_serves_from_the_wheel_outside_the_repository(venv, tmp_path):
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import collector, journeys; "
                            "print(collector.__file__); print(journeys.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, check=True).stdout.split()
    assert all(Path(p).is_relative_to(venv) for p in where), where  # the wheel's copy, not this checkout
    version = run(venv, "--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.strip() == "parcours, version 0.1.0"

    assert run(venv, "plan", "init", "plan.yaml", cwd=tmp_path).returncode == 0  # the starter, from the wheel
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARCOURS_")}
    proc = subprocess.Popen([str(venv / "bin" / "parcours"), "serve", "--plan", "plan.yaml", "--demo",
                             "--port", str(port)], cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url, proc, tmp_path / "serve.log")
        with urllib.request.urlopen(f"{url}/t.js", timeout=10) as resp:
            assert resp.status == 200 and b"parcours" in resp.read()
        # the dashboard's built files, as its page names them (the manifest the wheel carries), and its login page
        manifest = json.loads((ROOT / "journeys" / "dashboard" / "static" / "manifest.json").read_text())
        for name in manifest.values():
            with urllib.request.urlopen(f"{url}/dashboard/assets/{name}", timeout=10) as resp:
                assert resp.status == 200 and resp.read() == (ROOT / "journeys/dashboard/static" / name).read_bytes()
        with urllib.request.urlopen(f"{url}/dashboard/login", timeout=10) as resp:
            assert manifest["dashboard.css"] in resp.read().decode()
        event = {"id": str(uuid.uuid4()), "e": "page_view", "t": int(time.time() * 1000), "vid": "v1", "sid": "s1",
                 "url": "https://www.example.fr/?utm_medium=cpm"}
        req = urllib.request.Request(f"{url}/collect", data=json.dumps({"events": [event]}).encode(),
                                     headers={"content-type": "text/plain"}, method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 204 and resp.headers["x-parcours-accepted"] == "1"
        deadline = time.monotonic() + 60
        while True:  # `parcours sql` goes through the collector's admin API (it owns the embedded engine)
            r = run(venv, "sql", "SELECT count() AS n FROM parcours.events", "--format", "json", cwd=tmp_path)
            assert r.returncode == 0, r.stderr
            if json.loads(r.stdout)["n"] == 1 or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert json.loads(r.stdout)["n"] == 1
        assert (tmp_path / "data" / "clickhouse").is_dir()  # the embedded engine, in ./data by default
        r = run(venv, "sql", "SELECT max(version) AS v FROM parcours.schema_migrations", "--format", "json",
                cwd=tmp_path)
        from collector.schema import MIGRATIONS

        assert json.loads(r.stdout)["v"] == MIGRATIONS[-1].version
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()


def _wait(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1)
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"the installed collector did not start:\n{log.read_text()}")
            time.sleep(0.3)
