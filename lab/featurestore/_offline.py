"""The local offline store: append-only Parquet per group, queried with DuckDB.

Layout, like SageMaker's S3 offline store (partitioned here by write time):

    <featurestore>/offline/<group>-<created>/data/year=YYYY/month=MM/day=DD/hour=HH/<file>.parquet

Each ingest writes one file with the features plus the three columns SageMaker adds
(write_time, api_invocation_time, is_deleted); history is never rewritten. A zero-row file
with the group's schema is written at creation so an empty group is still a table.

Queries run in a SQL worker process (`_sqlworker.py`): DuckDB's memory limit does not cover
every allocation, so the worker's address space is capped too, and a query past its time
is ended by killing the worker. The worker may read the store's own folder and no other
file, and runs one SELECT (or WITH) statement at a time.
"""

from __future__ import annotations

import json
import os
import select
import struct
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lab.featurestore._errors import QueryError
from lab.featurestore._schema import FRACTIONAL, INTEGRAL, glue_table_name
from lab.workerpool import WorkerPool, stop

ATHENA_DATABASE = "sagemaker_featurestore"
QUERY_TIMEOUT_S = 30.0
MAX_ROWS = 1_000_000
MEMORY_LIMIT_MB = 1024  # DuckDB's limit; the worker's address space is capped near it
MAX_WORKERS = 2  # SQL worker processes at most, each running one query at a time
START_TIMEOUT_S = 60.0  # a worker's imports, on a busy machine
_ARROW = {INTEGRAL: pa.int64(), FRACTIONAL: pa.float64()}
_EXTRA = [("write_time", pa.timestamp("ms")), ("api_invocation_time", pa.timestamp("ms")),
          ("is_deleted", pa.bool_())]


def arrow_schema(definitions: dict[str, str]) -> pa.Schema:
    return pa.schema([(n, _ARROW.get(t, pa.string())) for n, t in definitions.items()] + _EXTRA)


def write_schema_file(group_dir: Path, definitions: dict[str, str]) -> None:
    group_dir.mkdir(parents=True, exist_ok=True)
    pq.write_table(arrow_schema(definitions).empty_table(), group_dir / "schema.parquet")


def append(group_dir: Path, frame: pd.DataFrame, definitions: dict[str, str],
           write_time: float, deleted: bool = False) -> Path:
    """Write one batch as one Parquet file; it appears under its final name only when whole."""
    schema = arrow_schema(definitions)
    table = pa.Table.from_pandas(frame, schema=pa.schema(list(schema)[:-3]),
                                 preserve_index=False)
    stamp = pa.array([int(write_time * 1000)] * len(frame), pa.int64()).cast(pa.timestamp("ms"))
    table = (table.append_column("write_time", stamp)
             .append_column("api_invocation_time", stamp)
             .append_column("is_deleted", pa.array([deleted] * len(frame), pa.bool_())))
    t = time.gmtime(write_time)
    folder = group_dir / "data" / (f"year={t.tm_year:04d}/month={t.tm_mon:02d}/"
                                   f"day={t.tm_mday:02d}/hour={t.tm_hour:02d}")
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{time.strftime('%Y%m%dT%H%M%SZ', t)}_{uuid.uuid4().hex[:12]}.parquet"
    tmp = folder / (name + ".tmp")
    pq.write_table(table, tmp, compression="snappy")
    os.replace(tmp, folder / name)
    return folder / name


def count_rows(group_dir: Path) -> int:
    return sum(pq.read_metadata(p).num_rows for p in Path(group_dir).rglob("*.parquet"))


def table_names(meta: dict) -> list[str]:
    """Names a group answers to in SQL: itself (quote it if it has hyphens), the same with
    underscores, and the Glue table name SageMaker would give it (name_created)."""
    underscored = meta["name"].lower().replace("-", "_")
    return [meta["name"], underscored, glue_table_name(meta["name"], meta["created"])]


def query(sql: str, groups: list[dict], root: Path) -> pd.DataFrame:
    """Run one read-only statement in a SQL worker (bounded in memory, rows and time)."""
    if not isinstance(sql, str) or not sql.strip():
        raise QueryError("The query is empty: write a SELECT statement.")
    _check_read_only(sql)
    known = [f'"{m["name"]}"' for m in groups]
    request = {"root": str(root), "views": _views(groups), "sql": sql, "max_rows": MAX_ROWS}
    kind, payload = _POOL.run(request, QUERY_TIMEOUT_S)
    if kind == "ok":
        return pa.ipc.open_stream(payload).read_all().to_pandas()
    if kind in ("timeout", "interrupt"):
        raise QueryError(f"The query ran longer than {QUERY_TIMEOUT_S:.0f} s and was stopped: "
                         "add filters or a LIMIT.")
    if kind in ("memory", "died"):
        raise QueryError(f"The query needed more memory than its {MEMORY_LIMIT_MB:,} MB and "
                         "was stopped: add filters, a LIMIT or an aggregate.")
    if kind == "rows":
        raise QueryError(f"The query returns more than {MAX_ROWS:,} rows: add a LIMIT or "
                         "an aggregate.")
    if kind == "catalog":
        raise QueryError(_catalog_message(payload, known))
    if kind == "permission":
        raise QueryError("Queries may read feature group tables only, not files: use "
                         f"one of {', '.join(known) or '(no groups yet)'}.")
    raise QueryError(f"The query failed: {_first_line(payload)}")


def _check_read_only(sql: str) -> None:
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(f"The query is not valid SQL: {_first_line(exc)}") from None
    if len(statements) != 1:
        raise QueryError(f"Run one statement at a time (this text holds {len(statements)}).")
    if statements[0].type != duckdb.StatementType.SELECT:
        raise QueryError("Only SELECT (or WITH ... SELECT) queries can run on the offline "
                         "store: it is read-only here, as it is through Athena.")


def _views(groups: list[dict]) -> list[list[str]]:
    """[table name, group folder] for each name a group answers to; exact group names
    first, so an alias never hides another group."""
    views, taken = [], set()
    for position in range(3):
        for meta in groups:
            name = table_names(meta)[position]
            if name.lower() not in taken:
                taken.add(name.lower())
                views.append([name, str(meta["offline_dir"])])
    return views


class _Workers(WorkerPool):
    """Up to MAX_WORKERS SQL worker processes (`_sqlworker.py`), each running one query at
    a time (started on first use, about 0.3 s, then kept); a query past its time limit is
    ended by killing its worker, which the next query replaces."""

    def __init__(self) -> None:
        super().__init__(_spawn, MAX_WORKERS, "sql")

    def run(self, request: dict, timeout_s: float) -> tuple[str, Any]:
        body = json.dumps(request).encode()
        for _ in range(2):  # a worker that died under a query gets one fresh try
            with self.lend() as loan:
                kind, payload = _exchange(loan.worker, body, timeout_s)
                loan.healthy = kind not in ("timeout", "died", "memory")
            if kind != "died":
                break
        return kind, payload


def _spawn() -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items()  # no AWS secrets: SQL needs none
           if not k.startswith(("AWS_SECRET", "AWS_SESSION", "AWS_ACCESS"))}
    env.pop("PYTHONPATH", None)
    env["MALLOC_ARENA_MAX"] = "2"  # glibc reserves 64 MB of address space per arena
    # The address-space cap above what the worker holds after its imports: a backstop for
    # one huge allocation (DuckDB reserves address space freely, so it is generous); what
    # the worker really uses is its resident memory, watched during each query.
    budget = MEMORY_LIMIT_MB * 4 + 512
    worker = subprocess.Popen(
        [sys.executable, "-u", _WORKER, str(os.getpid()), str(MEMORY_LIMIT_MB), str(budget)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    ready = _read_reply(worker.stdout.fileno(), time.monotonic() + START_TIMEOUT_S,
                        lambda: False)
    if ready != b"R":
        stop(worker)
        raise QueryError("The offline store's SQL engine did not start; try again.")
    return worker


def _resident_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def _exchange(worker: subprocess.Popen, body: bytes, timeout_s: float) -> tuple[str, Any]:
    deadline = time.monotonic() + timeout_s
    try:
        worker.stdin.write(struct.pack(">I", len(body)) + body)
        worker.stdin.flush()
    except (OSError, ValueError):
        return "died", ""
    # DuckDB's limit, half again for what it allocates outside it, and the worker itself
    limit_mb = MEMORY_LIMIT_MB * 3 // 2 + 256

    def too_big() -> bool:
        return _resident_mb(worker.pid) > limit_mb

    reply = _read_reply(worker.stdout.fileno(), deadline, too_big)
    if reply == b"memory":
        return "memory", ""
    if reply is None:
        return ("timeout", "") if time.monotonic() >= deadline else ("died", "")
    if reply[:1] == b"O":
        return "ok", reply[1:]
    error = json.loads(reply[1:])
    return error["kind"], error["message"]


def _read_reply(fd: int, deadline: float, too_big) -> bytes | None:
    """One framed reply; None at the deadline or when the worker closed its end, b"memory"
    as soon as the worker's resident memory passes its limit (checked every 20 ms)."""
    def read(n: int) -> bytes | None:
        chunks, left = [], n
        while left:
            wait = deadline - time.monotonic()
            if wait <= 0:
                return None
            if not select.select([fd], [], [], min(wait, 0.02))[0]:
                if too_big():
                    raise _TooBig
                continue
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                return None
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    try:
        head = read(4)
        return None if head is None else read(struct.unpack(">I", head)[0])
    except _TooBig:
        return b"memory"


class _TooBig(Exception):
    """The worker's memory passed its limit during a query."""


_WORKER = str(Path(__file__).with_name("_sqlworker.py"))
_POOL = _Workers()


def reset_workers() -> None:
    """Stop the idle SQL workers (tests change the limits; the next query starts anew)."""
    _POOL.reset()


def _catalog_message(exc: Exception | str, known: list[str]) -> str:
    line = _first_line(exc)
    if "does not exist" not in line or "able" not in line:
        return f"The query failed: {line}"
    if not known:
        return (f"{line.split('Error: ', 1)[-1].rstrip('!')}: this workspace has no feature "
                "group yet. Create one (ingest the prepared data) first.")
    return (f"{line.split('Error: ', 1)[-1].rstrip('!')}: there is no feature group by that "
            f"name in this workspace. Query one of {', '.join(known)} (a group also answers to "
            "its name with underscores and to its Glue table name, name_<created>).")


def _first_line(exc: Exception | str) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
