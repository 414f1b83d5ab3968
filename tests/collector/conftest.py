"""Collector fixtures: the real app on the embedded engine, and a plan fixed after events were rejected."""

from __future__ import annotations

import pytest

from collector.app import create_app
from tagplan import compile_plan, load_plan
from tests.conftest import Client, EXAMPLE_PLAN

ADMIN = {"authorization": "Bearer admin-test-token"}


@pytest.fixture
def client(settings, store):
    with Client(create_app(settings)) as c:
        yield c


@pytest.fixture(scope="session")
def fixed_plan_path(tmp_path_factory):
    """The example plan, corrected: it declares newsletter_signup and accepts a "night" callback slot."""
    text = EXAMPLE_PLAN.read_text()
    text = text.replace('version: "2026.11.1"', 'version: "2026.11.2"')
    text = text.replace("values: [morning, afternoon, evening]}", "values: [morning, afternoon, evening, night]}\n"
                        "  newsletter_signup:\n    properties:\n      topic: {type: string}")
    path = tmp_path_factory.mktemp("plans") / "fixed.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="session")
def fixed_plan(fixed_plan_path):
    return compile_plan(load_plan(fixed_plan_path))
