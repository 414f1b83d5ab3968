"""The dashboard: one page served by the collector at /dashboard, every figure read from /api/reports.

The front end (src/, bundled by esbuild from npm packages with a lockfile, like the tag) is built into
static/ with content-hashed names; web.py serves the page, the login page and those assets.
"""
