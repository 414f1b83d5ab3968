"""Which ClickHouse errors are the data's fault: those rows are set aside, everything else is retried.

A batch ClickHouse refuses for something in its rows (a value it cannot parse, a block spanning too many
partitions) would fail the same way forever; the writer splits it until the refused rows are isolated
(writer.py). Any other failure (ClickHouse away or timing out, out of memory, merges behind, a table
missing, an error this list does not know) may pass later: the batch is retried with backoff and stays
in the write-ahead log meanwhile. So an unknown error never loses a row; it holds the log until someone
looks (`/readyz` says so).
"""

from __future__ import annotations

from collector.storage import StoreError

DATA_ERRORS = {
    6: "CANNOT_PARSE_TEXT",
    25: "CANNOT_PARSE_ESCAPE_SEQUENCE",
    26: "CANNOT_PARSE_QUOTED_STRING",
    27: "CANNOT_PARSE_INPUT_ASSERTION_FAILED",
    33: "CANNOT_READ_ALL_DATA",
    38: "CANNOT_PARSE_DATE",
    41: "CANNOT_PARSE_DATETIME",
    53: "TYPE_MISMATCH",
    69: "ARGUMENT_OUT_OF_BOUND",
    70: "CANNOT_CONVERT_TYPE",
    72: "CANNOT_PARSE_NUMBER",
    117: "INCORRECT_DATA",
    128: "TOO_LARGE_ARRAY_SIZE",
    131: "TOO_LARGE_STRING_SIZE",
    306: "TOO_DEEP_RECURSION",
    321: "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE",
    349: "CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN",
    376: "CANNOT_PARSE_UUID",
    441: "CANNOT_PARSE_IPV4",
    442: "CANNOT_PARSE_IPV6",
    467: "CANNOT_PARSE_BOOL",
    469: "VIOLATED_CONSTRAINT",
    691: "UNKNOWN_ELEMENT_OF_ENUM",
}
"""ClickHouse error codes that name something wrong in the inserted rows."""

TRANSIENT_ERRORS = {
    159: "TIMEOUT_EXCEEDED",
    164: "READONLY",
    202: "TOO_MANY_SIMULTANEOUS_QUERIES",
    209: "SOCKET_TIMEOUT",
    210: "NETWORK_ERROR",
    225: "NO_ZOOKEEPER",
    236: "ABORTED",
    241: "MEMORY_LIMIT_EXCEEDED",
    242: "TABLE_IS_READ_ONLY",
    252: "TOO_MANY_PARTS",
    279: "ALL_CONNECTION_TRIES_FAILED",
    319: "UNKNOWN_STATUS_OF_INSERT",
    394: "QUERY_WAS_CANCELLED",
    425: "SYSTEM_ERROR",
    439: "CANNOT_SCHEDULE_TASK",
    999: "KEEPER_EXCEPTION",
    1000: "POCO_EXCEPTION",
}
"""Codes known to pass with time (with ClickHouse not reached at all: no code). Listed for what they
say about a failure, not to decide a retry: every error but a data error is retried."""

TOO_MANY_PARTS = 252
# Code 252 has two causes: a block whose rows fall in more than max_partitions_per_insert_block
# partitions (the rows' fault: smaller blocks pass), or more active parts than the table allows
# (merges behind: wait and retry). Only the message tells them apart.
_PARTITIONS = "too many partitions for single insert block"


def is_transient(exc: StoreError) -> bool:
    """ClickHouse was not reached, or answered with an error known to pass with time."""
    return exc.code is None or (exc.code in TRANSIENT_ERRORS and not is_data_error(exc))


def is_data_error(exc: StoreError) -> bool:
    """True when ClickHouse refused the rows themselves: the same rows would be refused again."""
    if exc.code == TOO_MANY_PARTS:
        return _PARTITIONS in str(exc).lower()
    return exc.code in DATA_ERRORS
