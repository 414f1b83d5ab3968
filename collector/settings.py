"""Collector settings: every one from a flag or an environment variable, with its default."""

from __future__ import annotations

import functools
import logging
import os
import posixpath
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from collector.clock import TimeBounds
from collector.errors import Problem
from collector.storage import Timeouts, default_dsn, is_embedded

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_RESERVED = ("/api/", "/v1/", "/healthz", "/readyz", "/metrics", "/demo", "/dashboard")
ADMIN_TOKEN_FILE = "admin-token"
"""In the data directory: the admin token, generated when none is set (commands read it from there)."""
SECRET_FILE = "secret"
"""In the data directory: the secret keying phone hashes, generated in --demo mode."""
LEADS_KEY_FILE = "leads-key"
"""In the data directory: the key sealing call-back phones, generated in --demo mode."""
WEBHOOK_SECRET_FILE = "leads-webhook-secret"
"""In the data directory: the secret signing the leads webhook, generated in --demo mode."""
PRIVATE_FILES = (SECRET_FILE, ADMIN_TOKEN_FILE, LEADS_KEY_FILE, WEBHOOK_SECRET_FILE, "users.json")
"""The secrets (and the accounts' password hashes) a data directory may hold: made 0600 at start, whoever wrote
them (an older version wrote them with the umask, often 0644)."""

log = logging.getLogger("parcours.settings")


class SettingsError(Problem):
    """A setting is missing or wrong; the message says which and how to fix it."""


@dataclass(frozen=True)
class Settings:
    plan: Path
    data_dir: Path
    clickhouse: str
    admin_token: str
    secret: bytes
    database: str = "parcours"
    host: str = "127.0.0.1"
    port: int = 8000
    site_dir: Path | None = None
    ip_v4_bits: int = 24
    ip_v6_bits: int = 48
    max_body: int = 1_000_000
    max_event: int = 32_768
    source_rate: int = 1000
    """Events a second one server source may send through the Segment-compatible API."""
    max_event_age: int = 30  # days
    max_clock_ahead: int = 24  # hours
    tag_path: str = "/t.js"
    collect_path: str = "/collect"
    cluster: str | None = None
    # durability and back-pressure (docs/operations.md)
    wal_dir: Path | None = None
    wal_max_bytes: int = 1 << 30
    wal_segment_bytes: int = 16 << 20
    wal_fsync: bool = True
    batch_rows: int = 5000
    batch_age: float = 1.0
    retry_max: float = 30.0
    retry_after: int = 5
    shutdown_timeout: float = 30.0
    workers: int = 1
    background: bool = True
    """Whether this collector does the background work (collector/periodic.py); off on all but one of several
    collectors writing to one ClickHouse server or cluster."""
    report_memory: int = 64
    """Megabytes of reports' answers kept while their data is unchanged (journeys/reports/results.py); 0: none."""
    log_format: str = "text"
    log_level: str = "info"
    # the call centre (docs/call-centre.md)
    leads_key: str = ""
    """The key ring sealing call-back phones (callcentre/seal.py); never the secret."""
    leads_webhook: str = ""
    leads_webhook_secret: str = ""
    # HTTP connections (connections.py)
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keep_alive: float = 5.0
    max_connections: int = 4096
    # ClickHouse clients (docs/operations.md)
    clickhouse_connect_timeout: int = 5
    clickhouse_timeout: int = 30
    query_timeout: int = 60

    @property
    def tag_endpoint(self) -> str:
        """The collect path relative to the tag's directory: the tag resolves it against its own URL."""
        return posixpath.relpath(self.collect_path, posixpath.dirname(self.tag_path))

    @property
    def keeps_whole_ip(self) -> bool:
        return self.ip_v4_bits >= 32 or self.ip_v6_bits >= 128

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @functools.cached_property
    def time_bounds(self) -> TimeBounds:
        return TimeBounds(self.max_event_age, self.max_clock_ahead)

    @property
    def timeouts(self) -> Timeouts:
        return Timeouts(self.clickhouse_connect_timeout, self.clickhouse_timeout, self.query_timeout)

    @property
    def wal_root(self) -> Path:
        """Where the write-ahead logs live: one directory per worker process under it."""
        return self.wal_dir or self.data_dir / "wal"


def build(
    *, plan: str, data_dir: str, clickhouse: str | None, admin_token: str | None, secret: str | None,
    demo: bool, leads_key: str | None = None, leads_webhook: str | None = None,
    leads_webhook_secret: str | None = None, **rest,
) -> Settings:
    """Resolve settings; in demo mode, missing secrets are generated and kept in the data directory."""
    data = Path(data_dir).resolve()
    data.mkdir(mode=0o700, parents=True, exist_ok=True)
    data.chmod(0o700)  # the events, the log, the secrets: for the collector's user only
    private(data)
    if not secret:
        secret = _demo_secret(data / SECRET_FILE, demo,
                              "PARCOURS_SECRET is not set: it keys the hash of phone numbers and must stay the same "
                              "across restarts. Set it (e.g. `export PARCOURS_SECRET=$(openssl rand -hex 32)`)")
    token = admin_token or _kept_secret(data / ADMIN_TOKEN_FILE)
    if not leads_key and demo:
        leads_key = _kept_secret(data / LEADS_KEY_FILE)
    if leads_webhook and not leads_webhook_secret:
        leads_webhook_secret = _demo_secret(
            data / WEBHOOK_SECRET_FILE, demo,
            "PARCOURS_LEADS_WEBHOOK is set but not PARCOURS_LEADS_WEBHOOK_SECRET, which signs each delivery so the "
            "call centre's tool can tell it comes from parcours: set it (e.g. `openssl rand -hex 32`) and give it to "
            "the tool")
    settings = Settings(
        plan=Path(plan), data_dir=data, clickhouse=clickhouse or default_dsn(data), admin_token=token,
        secret=secret.encode(), leads_key=leads_key or "", leads_webhook=leads_webhook or "",
        leads_webhook_secret=leads_webhook_secret or "", **rest,
    )
    check(settings)
    return settings


def check(settings: Settings) -> None:
    """Refuse settings that cannot work together, saying which and why."""
    if not _IDENTIFIER.match(settings.database):
        raise SettingsError(f'--database "{settings.database}": use letters, digits and underscores')
    if settings.cluster is not None:
        if not _IDENTIFIER.match(settings.cluster):
            raise SettingsError(f'--cluster "{settings.cluster}": use the cluster name of the server\'s remote_servers')
        if is_embedded(settings.clickhouse):
            raise SettingsError("--cluster needs a ClickHouse server (--clickhouse http://…), not the embedded engine")
    for flag, path in (("--tag-path", settings.tag_path), ("--collect-path", settings.collect_path)):
        if not path.startswith("/") or path.endswith("/") or "//" in path or "?" in path or "#" in path:
            raise SettingsError(f'{flag} "{path}": expected an absolute path such as /p/e, without a query')
        if path.startswith(_RESERVED):
            raise SettingsError(f'{flag} "{path}": {", ".join(_RESERVED)} are the collector\'s own paths')
    if settings.tag_path == settings.collect_path:
        raise SettingsError("--tag-path and --collect-path must differ")
    if settings.workers > 1 and is_embedded(settings.clickhouse):
        raise SettingsError(
            f"--workers {settings.workers} needs a ClickHouse server: the embedded engine ({settings.clickhouse}) "
            "is owned by one process, which runs the one batch writer. Run one worker, or point --clickhouse / "
            "PARCOURS_CLICKHOUSE at a server (http://user:pass@host:8123)."
        )
    if settings.leads_webhook and not settings.leads_webhook.startswith(("http://", "https://")):
        raise SettingsError(f'--leads-webhook "{settings.leads_webhook}": expected an http(s) URL')
    if settings.max_event > settings.max_body:
        raise SettingsError(f"--max-event ({settings.max_event}) cannot be larger than --max-body ({settings.max_body})")


def private(data: Path) -> None:
    """Make the data directory's secrets readable by their owner only (0600), one warning line each that was
    not; SettingsError when one cannot be (a file of another user): a secret others can read is no secret."""
    for name in PRIVATE_FILES:
        path = data / name
        try:
            mode = stat.S_IMODE(path.stat().st_mode)  # a symbolic link: its target, which chmod changes
        except FileNotFoundError:
            continue
        if not mode & 0o077:
            continue
        try:
            path.chmod(0o600)
        except OSError as exc:
            raise SettingsError(
                f"{path} is readable by other users (mode {mode:04o}) and cannot be made private ({exc.strerror}): "
                f"run `chmod 600 {path}` as its owner, and replace the secret if others may have read it") from None
        log.warning("%s was readable by other users (mode %04o): made 0600; replace the secret if others may have "
                    "read it", path, mode)


def _kept_secret(path: Path) -> str:
    """Read a generated secret, or create it readable by its owner only."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        value = secrets.token_hex(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(value + "\n")
        return value


def _demo_secret(path: Path, demo: bool, missing: str) -> str:
    """A secret that was not given: generated into the data directory in --demo mode; otherwise `missing`, the
    error saying what it is for and how to set it."""
    if not demo:
        raise SettingsError(f"{missing}, or run with --demo to generate one in the data directory.")
    return _kept_secret(path)
