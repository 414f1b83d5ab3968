"""Small HTML pages of their own for the tag's e2e tests (not the demo site), served on the collector's origin."""

from __future__ import annotations

from playwright.sync_api import Page

SNIPPET = ("<script>window.parcours=window.parcours||function(){arguments.t=Date.now();"
           "(parcours.q=parcours.q||[]).push(arguments)};</script><script async src='/t.js'></script>")
"""The install snippet, as docs/tag.md gives it."""

OLD_SNIPPET = ("<script>window.parcours=window.parcours||function(){(parcours.q=parcours.q||[]).push(arguments)};"
               "</script><script async src='/t.js'></script>")
"""The snippet before calls were timed: sites that installed it keep working."""


def html(body: str, head: str = SNIPPET) -> str:
    return f"<!doctype html><html><head><meta charset='utf-8'>{head}</head><body>{body}</body></html>"


def serve(page: Page, url: str, body: str, head: str = SNIPPET) -> str:
    """Answer `url` (and the same path with any query string) with a page holding `body`; returns `url`."""
    page.route(f"{url}*", lambda route: route.fulfill(body=html(body, head), content_type="text/html; charset=utf-8"))
    return url


def tag_ready(page: Page) -> None:
    page.wait_for_function("() => window.parcours && window.parcours.l")
