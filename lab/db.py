"""SQLite the way the lab's local twins use it: WAL, a busy timeout, one connection per call.

Used by the registry, the endpoints, the experiments and the pipeline executions. (The
online feature store keeps its own per-thread connections: its reads are the lab's
sub-millisecond hot path.) Many Streamlit sessions, job threads and the runtime server read
and write the same file;
WAL lets readers run while one writer commits, and the busy timeout makes a second writer
wait instead of failing. Connections are short-lived (opened per call, about 0.1 ms), so
no connection is ever shared between threads.

By default commits do not wait for the disk (synchronous=NORMAL, which WAL makes safe: the
file is never corrupted, and a crash of the lab's process loses nothing). Only a crash of
the machine itself may lose the last transactions, which the lab accepts for its own
records (runs, versions, endpoints, executions, metrics: a step can be run again); a
commit waiting for fsync took 3-12 ms on this disk, several per training run. A record
that must survive that too (what was launched on AWS, which costs money) asks for
`durable=True` (synchronous=FULL).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

BUSY_TIMEOUT_MS = 30_000


class Database:
    def __init__(self, path: Path, schema: str, durable: bool = False) -> None:
        self.path, self.schema = Path(path), schema
        self._synchronous = "FULL" if durable else "NORMAL"
        self._ready = False

    def connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute(f"PRAGMA synchronous={self._synchronous}")  # per connection; see above
        if not self._ready or not self.path.exists():
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(self.schema)
            self._ready = True
        return conn

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        conn = self.connect()
        try:
            yield conn
        finally:
            conn.close()

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One transaction holding the write lock from the start (no upgrade deadlocks)."""
        conn = self.connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()
