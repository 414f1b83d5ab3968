"""Driving the MotoAssur demo form and reading what the tag left in the browser."""

from __future__ import annotations

from playwright.sync_api import Page

STEPS = ("vehicle", "rider", "coverage", "contact")


def watch_errors(page: Page) -> list[str]:
    """Console errors and uncaught exceptions of the page, collected as they happen."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def complete(page: Page, *steps: str) -> None:
    """Complete the given steps in order (each one shows the next)."""
    for step in steps:
        if step == "contact":
            page.fill("#name", "Camille Martin")
            page.fill("#email", "camille.martin@example.fr")
            page.fill("#phone", "06 12 34 56 78")
            page.fill("#postcode", "69003")
            page.check("#consent")
            page.click("#submit-quote")
            page.wait_for_selector("#confirmation:not([hidden])")
        else:
            page.click(f"#next-{step}")
            page.wait_for_selector(f"#step-{STEPS[STEPS.index(step) + 1]}:not([hidden])")


def visitor_id(page: Page) -> str:
    """The visitor id cookie the tag set, waiting for the tag to have run."""
    page.wait_for_function("() => window.parcours && window.parcours.l")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    return cookies["_pcid"]
