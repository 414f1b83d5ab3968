"""Rules the suite keeps so it runs the same in any order and on pytest-xdist's workers."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).parent


def test_no_test_calls_asyncio_run_on_the_main_thread():
    """pytest-playwright's browser leaves its event loop registered as running on the main thread: a later
    `asyncio.run` in the same process fails. Tests use helpers.run_async (a thread of its own) instead; CI
    failed on five tests that did not, once a worker ran a browser test before them."""
    offenders = [f"{path.relative_to(TESTS)}:{n}"
                 for path in TESTS.rglob("*.py") if path.name != "helpers.py"
                 for n, line in enumerate(path.read_text().splitlines(), 1)
                 if re.search(r"\basyncio\.run\(", line)]
    assert offenders == []
