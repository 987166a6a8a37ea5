"""The local online store and the group catalog: one SQLite file in WAL mode.

WAL lets readers (online gets from many Streamlit sessions) run while one writer ingests.
Each thread keeps its own connection per file, since sqlite3 connections are not shared
across threads, and a connection is dropped when its file was replaced (the learner deleted
the workspace), so writes never go to an unlinked file. A page's connections end with its
script thread; a job worker's are closed after each job (`jobs.after_each_job`).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from lab import jobs
from lab.featurestore._schema import FRACTIONAL, INTEGRAL

BUSY_TIMEOUT_MS = 15_000
_SQL_TYPES = {INTEGRAL: "INTEGER", FRACTIONAL: "REAL"}

_CATALOG = """
CREATE TABLE IF NOT EXISTS feature_groups (
    name_key TEXT PRIMARY KEY,          -- SageMaker group names are unique whatever the case
    name TEXT NOT NULL,
    record_identifier TEXT NOT NULL,
    event_time TEXT NOT NULL,
    definitions TEXT NOT NULL,          -- JSON object, feature name -> type, in order
    created REAL NOT NULL,
    online_enabled INTEGER NOT NULL,
    online_table TEXT NOT NULL,
    offline_dir TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT ''
)"""

_local = threading.local()


def close_thread_connections() -> None:
    """Close this thread's connections (a job's worker thread, after each job: it would
    otherwise keep one open file per workspace it ever served)."""
    for conn, _ in _local.__dict__.pop("connections", {}).values():
        conn.close()


jobs.after_each_job(close_thread_connections)


def _q(identifier: str) -> str:
    # Names are checked against SageMaker's pattern first; quoting keeps case and hyphens.
    return '"' + identifier.replace('"', '""') + '"'


class OnlineDB:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def connect(self) -> sqlite3.Connection:
        cache = _local.__dict__.setdefault("connections", {})
        key = str(self.path)
        cached = cache.get(key)
        try:
            inode = os.stat(self.path).st_ino
        except FileNotFoundError:
            inode = None
        if cached is not None and cached[1] == inode:
            return cached[0]
        if cached is not None:
            cached[0].close()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints, safe in WAL mode
        conn.execute(_CATALOG)
        cache[key] = (conn, os.stat(self.path).st_ino)
        return conn

    def close(self) -> None:
        cached = _local.__dict__.get("connections", {}).pop(str(self.path), None)
        if cached is not None:
            cached[0].close()

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One transaction that takes the write lock up front (no upgrade deadlocks)."""
        conn = self.connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # The catalog of feature groups.
    def group(self, name: str) -> dict[str, Any] | None:
        found = self._select("WHERE name_key = ?", (name.lower(),))
        return found[0] if found else None

    def groups(self) -> list[dict[str, Any]]:
        return self._select("ORDER BY name_key", ())

    def _select(self, where: str, args: tuple) -> list[dict[str, Any]]:
        if not self.path.exists():  # a read never creates the store
            return []
        cursor = self.connect().execute(f"SELECT * FROM feature_groups {where}", args)
        names = [d[0] for d in cursor.description]
        metas = [dict(zip(names, row)) for row in cursor.fetchall()]
        for meta in metas:
            meta["definitions"] = json.loads(meta["definitions"])
            meta["online_enabled"] = bool(meta["online_enabled"])
            meta["offline_dir"] = str(self.offline_dir(meta["offline_dir"]))
        return metas

    def offline_dir(self, stored: str) -> Path:
        """A group's offline folder, always under this store's own `offline/`: the catalog
        keeps the folder's name (older catalogs kept an absolute path: its name is used),
        so a copied or moved workspace reads and writes its own files."""
        name = Path(str(stored)).name
        if name in ("", ".", ".."):
            name = "missing"
        return self.path.parent / "offline" / name


def add_group(conn: sqlite3.Connection, meta: dict[str, Any]) -> dict[str, Any]:
    """Insert a group in the catalog and create its online table (inside a transaction).
    The catalog keeps the offline folder's name only (see `OnlineDB.offline_dir`)."""
    meta = dict(meta, online_table=f"online_{uuid.uuid4().hex[:12]}")
    conn.execute(
        "INSERT INTO feature_groups (name_key, name, record_identifier, event_time, "
        "definitions, created, online_enabled, online_table, offline_dir, description) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (meta["name"].lower(), meta["name"], meta["record_identifier"], meta["event_time"],
         json.dumps(meta["definitions"]), meta["created"], int(meta["online_enabled"]),
         meta["online_table"], Path(meta["offline_dir"]).name, meta["description"]))
    columns = ", ".join(f"{_q(n)} {_SQL_TYPES.get(t, 'TEXT')}"
                        for n, t in meta["definitions"].items())
    conn.execute(f"CREATE TABLE {_q(meta['online_table'])} (_key TEXT PRIMARY KEY, "
                 f"_event REAL NOT NULL, {columns}) WITHOUT ROWID")
    return meta


def drop_group(conn: sqlite3.Connection, meta: dict[str, Any]) -> None:
    conn.execute("DELETE FROM feature_groups WHERE name_key = ?", (meta["name_key"],))
    conn.execute(f"DROP TABLE IF EXISTS {_q(meta['online_table'])}")


def upsert(conn: sqlite3.Connection, meta: dict[str, Any], rows: Iterable[Sequence]) -> None:
    """Write (key, event seconds, *features) rows; an older event time never replaces a
    newer record, as in SageMaker's online store. Rows apply in order, so within one batch
    the last row of an id with the greatest event time wins."""
    names = list(meta["definitions"])
    table = _q(meta["online_table"])
    cols = ", ".join(_q(n) for n in names)
    marks = ", ".join("?" * (len(names) + 2))
    updates = ", ".join(f"{_q(n)} = excluded.{_q(n)}" for n in ["_event", *names])
    conn.executemany(
        f"INSERT INTO {table} (_key, _event, {cols}) VALUES ({marks}) "
        f"ON CONFLICT(_key) DO UPDATE SET {updates} WHERE excluded._event >= {table}._event",
        rows)


def fetch(conn: sqlite3.Connection, meta: dict[str, Any], keys: Sequence[str],
          features: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Records by key; features the record does not hold are left out, as SageMaker does."""
    cols = ", ".join(_q(n) for n in features)
    marks = ", ".join("?" * len(keys))
    rows = conn.execute(f"SELECT _key, {cols} FROM {_q(meta['online_table'])} "
                        f"WHERE _key IN ({marks})", list(keys)).fetchall()
    return {row[0]: {n: v for n, v in zip(features, row[1:]) if v is not None}
            for row in rows}


def count(conn: sqlite3.Connection, meta: dict[str, Any]) -> int:
    return conn.execute(f"SELECT count(*) FROM {_q(meta['online_table'])}").fetchone()[0]
