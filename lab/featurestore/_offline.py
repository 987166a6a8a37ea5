"""The local offline store: append-only Parquet per group, queried with DuckDB.

Layout, like SageMaker's S3 offline store (partitioned here by write time):

    <featurestore>/offline/<group>-<created>/data/year=YYYY/month=MM/day=DD/hour=HH/<file>.parquet

Each ingest writes one file with the features plus the three columns SageMaker adds
(write_time, api_invocation_time, is_deleted); history is never rewritten. A zero-row file
with the group's schema is written at creation so an empty group is still a table.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import OrderedDict
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lab.featurestore._errors import QueryError
from lab.featurestore._schema import FRACTIONAL, INTEGRAL, glue_table_name

ATHENA_DATABASE = "sagemaker_featurestore"
QUERY_TIMEOUT_S = 30.0
MAX_ROWS = 1_000_000
MEMORY_LIMIT = "1GB"
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
    if not isinstance(sql, str) or not sql.strip():
        raise QueryError("The query is empty: write a SELECT statement.")
    _check_read_only(sql)
    known = [f'"{m["name"]}"' for m in groups]
    cursor = _database(root, groups).cursor()
    timer = threading.Timer(QUERY_TIMEOUT_S, cursor.interrupt)
    timer.start()
    try:
        return _fetch(cursor, sql)
    except duckdb.InterruptException:
        raise QueryError(f"The query ran longer than {QUERY_TIMEOUT_S:.0f} s and was stopped: "
                         "add filters or a LIMIT.") from None
    except duckdb.CatalogException as exc:
        raise QueryError(_catalog_message(exc, known)) from None
    except duckdb.PermissionException:
        raise QueryError("Queries may read feature group tables only, not files: use "
                         f"one of {', '.join(known) or '(no groups yet)'}.") from None
    except duckdb.Error as exc:
        raise QueryError(f"The query failed: {_first_line(exc)}") from None
    finally:
        timer.cancel()
        cursor.close()


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


class _Database:
    """One in-memory DuckDB per store, kept: connecting costs tens of milliseconds, a
    cursor almost nothing. It may read the store's own folder and no other file."""

    def __init__(self, root: Path) -> None:
        # Bounded, since one database is kept per workspace a server may hold many of.
        self.con = duckdb.connect(":memory:", config={"memory_limit": MEMORY_LIMIT,
                                                      "threads": 2})
        self.con.execute(f"CREATE SCHEMA {ATHENA_DATABASE}")
        self.con.execute(f"SET allowed_directories = [{_literal(str(root) + os.sep)}]")
        self.con.execute("SET enable_external_access = false")
        self.con.execute("SET lock_configuration = true")
        self.lock = threading.Lock()
        self.views: list[str] = []
        self.signature: tuple = ()

    def sync(self, groups: list[dict]) -> None:
        """Views named like the groups' tables, rebuilt when groups come or go."""
        signature = tuple((m["name"], m["offline_dir"], m["created"]) for m in groups)
        with self.lock:
            if signature == self.signature:
                return
            for view in self.views:
                self.con.execute(f"DROP VIEW IF EXISTS {view}")
            self.views, taken = [], set()
            # Exact group names first, so an alias never hides another group.
            for position in range(3):
                for meta in groups:
                    name = table_names(meta)[position]
                    if name.lower() not in taken:
                        taken.add(name.lower())
                        self._create(name, Path(meta["offline_dir"]))
            self.signature = signature

    def _create(self, name: str, group_dir: Path) -> None:
        source = _literal(str(group_dir / "**" / "*.parquet"))
        select = (f"SELECT * FROM read_parquet({source}, union_by_name = true, "
                  "hive_partitioning = false)")
        for schema in ("main", ATHENA_DATABASE):
            view = f"{schema}.{_ident(name)}"
            try:
                self.con.execute(f"CREATE VIEW {view} AS {select}")
            except duckdb.IOException:
                return  # its folder is gone (a group deleted meanwhile): no table for it
            self.views.append(view)


_databases: OrderedDict[str, _Database] = OrderedDict()
_databases_lock = threading.Lock()
_MAX_DATABASES = 32  # one per workspace in use; the least recently used is let go


def _database(root: Path, groups: list[dict]) -> _Database:
    with _databases_lock:
        database = _databases.pop(str(root), None) or _Database(root)
        _databases[str(root)] = database
        while len(_databases) > _MAX_DATABASES:
            _databases.popitem(last=False)
    database.sync(groups)
    return database.con


def _fetch(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    reader = con.sql(sql).to_arrow_reader(65_536)
    batches, rows = [], 0
    for batch in reader:
        rows += batch.num_rows
        if rows > MAX_ROWS:
            raise QueryError(f"The query returns more than {MAX_ROWS:,} rows: add a LIMIT or "
                             "an aggregate.")
        batches.append(batch)
    return pa.Table.from_batches(batches, schema=reader.schema).to_pandas()


def _catalog_message(exc: Exception, known: list[str]) -> str:
    line = _first_line(exc)
    if "does not exist" not in line or "able" not in line:
        return f"The query failed: {line}"
    if not known:
        return (f"{line.split('Error: ', 1)[-1].rstrip('!')}: this workspace has no feature "
                "group yet. Create one (ingest the prepared data) first.")
    return (f"{line.split('Error: ', 1)[-1].rstrip('!')}: there is no feature group by that "
            f"name in this workspace. Query one of {', '.join(known)} (a group also answers to "
            "its name with underscores and to its Glue table name, name_<created>).")


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
