"""User-agent enrichment: browser, OS, device type, bots kept but flagged."""

from __future__ import annotations

import pytest

from collector.useragent import UserAgent, parse
from tests.collector.helpers import event, post, rows

CHROME_WIN = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/131.0.0.0 Safari/537.36")
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.5 Mobile/15E148 Safari/604.1")
IPAD = ("Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 "
        "Mobile/15E148 Safari/604.1")
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
HEADLESS = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 "
            "Safari/537.36")


@pytest.mark.parametrize("ua, expected", [
    (CHROME_WIN, UserAgent("Chrome", "131.0.0", "Windows", "10", "desktop", False)),
    (IPHONE, UserAgent("Mobile Safari", "17.5", "iOS", "17.5", "mobile", False)),
    (IPAD, UserAgent("Mobile Safari", "17.0", "iOS", "17.0", "tablet", False)),
    (GOOGLEBOT, UserAgent("Googlebot", "2.1", "", "", "bot", True)),
    (HEADLESS, UserAgent("HeadlessChrome", "131.0.0", "Linux", "", "bot", True)),
    ("curl/8.5.0", UserAgent("curl", "8.5.0", "", "", "bot", True)),
    ("", UserAgent("", "", "", "", "bot", True)),
    ("something odd", UserAgent("", "", "", "", "other", False)),
])
def test_parse(ua, expected):
    assert parse(ua) == expected


def test_a_user_agent_gets_the_same_answer_first_seen_repeated_or_after_many_others():
    """Parsing is cached per distinct user agent (visitors repeat theirs); the cache must never change an
    answer: not for a repeat, not for one seen again after thousands of others pushed it out."""
    agents = [CHROME_WIN, IPHONE, IPAD, GOOGLEBOT, HEADLESS, "curl/8.5.0", ""]
    first = [parse(ua) for ua in agents]
    assert [parse(ua) for ua in reversed(agents)] == first[::-1]
    for n in range(5000):  # more distinct agents than the cache holds
        parse(f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/{n}.0.0.0 Safari/537.36")
    assert [parse(ua) for ua in agents] == first
    assert parse("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/4999.0.0.0 Safari/537.36") == \
        UserAgent("Chrome", "4999.0.0", "Windows", "10", "desktop", False)


def test_bots_are_kept_but_flagged(client, store):
    post(client, event(vid="person"), headers={"user-agent": IPHONE})
    post(client, event(vid="crawler"), headers={"user-agent": GOOGLEBOT})
    got = rows(store, "SELECT visitor_id, user_agent, browser, browser_version, os, os_version, device_type, is_bot "
                      "FROM parcours.events ORDER BY visitor_id")
    assert got == [
        {"visitor_id": "crawler", "user_agent": GOOGLEBOT, "browser": "Googlebot", "browser_version": "2.1",
         "os": "", "os_version": "", "device_type": "bot", "is_bot": True},
        {"visitor_id": "person", "user_agent": IPHONE, "browser": "Mobile Safari", "browser_version": "17.5",
         "os": "iOS", "os_version": "17.5", "device_type": "mobile", "is_bot": False},
    ]
    assert rows(store, "SELECT count() AS humans FROM parcours.events WHERE NOT is_bot") == [{"humans": 1}]
