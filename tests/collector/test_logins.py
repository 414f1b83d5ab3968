"""Login failures' counts: the wait they give, the window they last, and a bound on what a flood can make them
keep (the logins themselves, through the server, are in test_auth.py)."""

from __future__ import annotations

from collector import logins
from collector.logins import FAILURE_WINDOW, Failures, Logins


def test_a_key_waits_from_its_limit_until_its_oldest_counted_failure_leaves_the_window():
    f = Failures()
    for t in (100.0, 200.0, 300.0):
        f.add("k", 3, t)
    assert f.wait("k", 4, 300.0) == 0
    assert f.wait("k", 3, 300.0) == 100.0 + FAILURE_WINDOW - 300.0
    assert f.wait("k", 3, 100.0 + FAILURE_WINDOW) == 0  # the first no longer counts
    assert f.wait("other", 1, 300.0) == 0


def test_a_flood_of_names_keeps_at_most_max_keys_the_most_recent(monkeypatch):
    monkeypatch.setattr(logins, "MAX_KEYS", 5)
    f = Failures()
    f.add("alice", 1, 0.0)
    for i in range(20):
        f.add(f"random-{i}", 1, 1.0 + i)
    assert len(f._times) == 5 and f.wait("random-19", 1, 30.0) > 0
    assert f.wait("alice", 1, 30.0) == 0  # dropped, the least recently failed


def test_the_checks_running_at_once_are_capped_and_their_place_freed():
    state = Logins()
    with state.check() as first:
        with state.check() as second:
            assert (first, second) == (True, False)
    with state.check() as again:
        assert again
