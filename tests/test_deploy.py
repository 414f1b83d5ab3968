"""The operators' files (Dockerfile, deploy/parcours.service) name only settings that exist, and the unit is
one systemd accepts. (The image itself is not built here: no Docker engine on these machines.)"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from collector.cli import serve
from tests.conftest import ROOT

DOCKERFILE = ROOT / "Dockerfile"
UNIT = ROOT / "deploy" / "parcours.service"
SETTINGS = {p.envvar for p in serve.params if p.envvar}


@pytest.mark.parametrize("path", [DOCKERFILE, UNIT], ids=["Dockerfile", "parcours.service"])
def test_every_setting_named_is_one_serve_reads(path):
    named = set(re.findall(r"\bPARCOURS_[A-Z_]+\b", path.read_text()))
    assert named and named <= SETTINGS, f"{path.name} names settings serve does not read: {named - SETTINGS}"


def test_both_run_the_collector_from_the_installed_command():
    assert 'ENTRYPOINT ["parcours"]' in DOCKERFILE.read_text() and 'CMD ["serve"]' in DOCKERFILE.read_text()
    assert "\nExecStart=/opt/parcours/bin/parcours serve\n" in UNIT.read_text()
    timeout = int(re.search(r"^TimeoutStopSec=(\d+)$", UNIT.read_text(), re.M).group(1))
    shutdown = next(p.default for p in serve.params if p.name == "shutdown_timeout")
    assert timeout > shutdown  # systemd must not kill the collector while it drains its log


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_accepts_the_unit(tmp_path):
    unit = tmp_path / "parcours.service"
    unit.write_text(UNIT.read_text().replace("/opt/parcours/bin/parcours", str(ROOT / ".venv" / "bin" / "parcours")))
    r = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and not r.stderr.strip(), r.stderr


@pytest.mark.skipif(not shutil.which("make"), reason="make is not installed")
def test_make_demo_runs_each_command_on_one_data_directory():
    """With PARCOURS_DATA set in the shell, `make demo` added its viewer to ./data and served the other
    directory, where "log in as demo / parcours-demo" was refused: each command it runs or prints names its
    data directory."""
    recipe = subprocess.run(["make", "-n", "-o", "setup", "demo", "DEMO_DATA=/tmp/demo-elsewhere"], cwd=ROOT,
                            capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "PARCOURS_DATA": "/srv/x"})
    assert recipe.returncode == 0, recipe.stderr
    commands = re.findall(r"bin/parcours (users add|demo seed|serve|sql|report match)\b(.*)", recipe.stdout)
    assert {c for c, _ in commands} == {"users add", "demo seed", "serve", "sql", "report match"}, recipe.stdout
    assert all("--data-dir /tmp/demo-elsewhere" in args for _, args in commands), commands
