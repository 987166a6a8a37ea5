"""The lab's SQLite records: WAL, and commits that wait for the disk only where asked."""

from __future__ import annotations

from lab.db import Database

SCHEMA = "CREATE TABLE IF NOT EXISTS t (x INTEGER);"


def test_records_commit_without_fsync_unless_durable(tmp_path):
    quick, durable = Database(tmp_path / "q.db", SCHEMA), Database(tmp_path / "d.db", SCHEMA,
                                                                    durable=True)
    for db, level in ((quick, 1), (durable, 2)):  # 1 NORMAL, 2 FULL
        with db.write() as conn:
            conn.execute("INSERT INTO t VALUES (1)")
        with db.read() as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert conn.execute("PRAGMA synchronous").fetchone()[0] == level
            assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 1


def test_the_aws_ledger_is_durable(tmp_path):
    from lab.aws.ledger import Ledger

    with Ledger(tmp_path).db.read() as conn:
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2
