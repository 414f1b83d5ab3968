"""Why the log refuses a request: the collector answers 503 and the tag sends the batch again."""


class WalError(Exception):
    """The log cannot be written (disk full, permissions, shutting down)."""


class WalFull(WalError):
    """The log holds as much as its cap allows: ClickHouse is behind or down."""
