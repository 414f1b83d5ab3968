"""Events from servers: a Segment-compatible HTTP API (api.py), Segment's calls read as the tag's events
(translate.py), the write keys of server sources (keys.py) and their commands and admin endpoints (admin.py)."""
