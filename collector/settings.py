"""Collector settings: every one from a flag or an environment variable, with its default."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from collector.storage import default_dsn, is_embedded


class SettingsError(Exception):
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
    log_format: str = "text"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def wal_root(self) -> Path:
        """Where the write-ahead logs live: one directory per worker process under it."""
        return self.wal_dir or self.data_dir / "wal"


def build(
    *, plan: str, data_dir: str, clickhouse: str | None, admin_token: str | None, secret: str | None,
    demo: bool, **rest,
) -> Settings:
    """Resolve settings; in demo mode, missing secrets are generated and kept in the data directory."""
    data = Path(data_dir).resolve()
    data.mkdir(parents=True, exist_ok=True)
    if not secret:
        if not demo:
            raise SettingsError(
                "PARCOURS_SECRET is not set: it keys the hash of phone numbers and must stay the same "
                "across restarts. Set it (e.g. `export PARCOURS_SECRET=$(openssl rand -hex 32)`), "
                "or run with --demo to generate one in the data directory."
            )
        secret = _kept_secret(data / "secret")
    token = admin_token or _kept_secret(data / "admin-token")
    dsn = clickhouse or default_dsn(data)
    if rest.get("workers", 1) > 1 and is_embedded(dsn):
        raise SettingsError(
            f"--workers {rest['workers']} needs a ClickHouse server: the embedded engine ({dsn}) is owned by one "
            "process, which runs the one batch writer. Run one worker (it takes ~all of one core), or point "
            "--clickhouse / PARCOURS_CLICKHOUSE at a server (http://user:pass@host:8123)."
        )
    return Settings(
        plan=Path(plan), data_dir=data, clickhouse=dsn, admin_token=token,
        secret=secret.encode(), **rest,
    )


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
