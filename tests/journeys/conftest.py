"""Report fixtures: the store of tests/conftest.py (embedded engine, a fresh database) and plans."""

from __future__ import annotations

import pytest

from tagplan import compile_plan, load_plan
from tests.conftest import EXAMPLE_PLAN


@pytest.fixture
def plan_file(tmp_path):
    """A plan written for one test: the example plan with `forms` replaced."""
    def write(forms_yaml: str):
        text = EXAMPLE_PLAN.read_text()
        head, rest = text.split("\nforms:\n", 1)
        tail = rest[rest.index("\n# Broker"):]
        path = tmp_path / "plan.yaml"
        path.write_text(f"{head}\nforms:\n{forms_yaml.rstrip()}\n{tail}")
        return compile_plan(load_plan(path))
    return write
