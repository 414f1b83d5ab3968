"""User-agent enrichment: browser, OS, device type and a bot flag, parsed once per distinct user agent."""

from __future__ import annotations

import functools
from typing import NamedTuple

# ua-parser knows crawlers ("Spider"); these automation clients it reports as browsers
# or as "Other", but they are not people either.
_AUTOMATION = frozenset({
    "HeadlessChrome", "PhantomJS", "Electron", "curl", "Wget", "Python Requests", "Python-urllib", "Go-http-client",
    "okhttp", "Apache-HttpClient", "Java", "libwww-perl", "axios", "node-fetch", "Scrapy", "Lighthouse",
})
_AUTOMATION_WORDS = ("crawler", "spider", "headless")  # not "bot": Cubot is a phone brand


class UserAgent(NamedTuple):
    browser: str
    browser_version: str
    os: str
    os_version: str
    device_type: str
    """desktop, mobile, tablet, bot or other."""
    is_bot: bool


DEVICES = ("desktop", "mobile", "tablet", "other")
"""The device types a person's user agent is read as (a bot's is `bot`, left out of reports)."""


@functools.lru_cache(maxsize=4096)
def parse(ua: str) -> UserAgent:
    """What a user agent says about the visitor's device; an empty one is flagged as a bot."""
    if not ua.strip():
        return UserAgent("", "", "", "", "bot", True)
    import user_agents  # ~0.1 s (ua-parser's regexes): imported on first use, not by every `parcours` command

    parsed = user_agents.parse(ua)
    lowered = ua.lower()
    is_bot = (parsed.is_bot or parsed.browser.family in _AUTOMATION
              or any(word in lowered for word in _AUTOMATION_WORDS))
    if is_bot:
        device = "bot"
    elif parsed.is_tablet:
        device = "tablet"
    elif parsed.is_mobile:
        device = "mobile"
    elif parsed.is_pc:
        device = "desktop"
    else:
        device = "other"
    return UserAgent(
        _known(parsed.browser.family), parsed.browser.version_string,
        _known(parsed.os.family), parsed.os.version_string, device, is_bot,
    )


def _known(family: str) -> str:
    return "" if family == "Other" else family
