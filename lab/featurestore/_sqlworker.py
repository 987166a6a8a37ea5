"""The offline store's SQL engine in a process of its own, bounded in memory and time.

DuckDB's `memory_limit` covers its buffer manager, not every allocation: a query such as
`SELECT length(repeat('a', 2000000000))` built a 2 GB string outside it and took the whole
server to 4.1 GB, and a single such operator does not notice an interrupt. So queries run
here, in a child process whose address space is capped (RLIMIT_AS): an allocation past the
cap fails inside DuckDB as an out-of-memory error, and a query past its time is ended by
killing this process. The lab's process never holds more than the result.

Run by path (`python _sqlworker.py`): it imports duckdb and pyarrow only. It reads
requests from stdin and writes replies to stdout, each a 4-byte big-endian length and a
body: a request is JSON {"root", "views": [[name, folder], ...], "sql", "max_rows"}; a
reply is b"O" + an Arrow IPC stream, or b"E" + JSON {"kind", "message"}; b"R" once, when
it is ready. It exits when its
stdin closes, and dies with the process that started it.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import struct
import sys

ATHENA_DATABASE = "sagemaker_featurestore"
THREADS = 2
# Databases kept open (one per workspace store): each holds ~80 MB of address space (its
# threads), which the cap must leave room for; reopening one costs ~15 ms.
KEEP_DATABASES = 2
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: stdin closing still ends this process
        return
    if os.getppid() != parent:  # the parent died before prctl: nobody will read us
        os._exit(0)


def _address_space_mb() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) // 1024
    return 0


def _cap_memory(budget_mb: int) -> None:
    """Cap the address space at what the process uses now plus the query budget."""
    try:
        cap = (_address_space_mb() + budget_mb) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    except (OSError, ValueError):
        pass  # no /proc (not Linux): DuckDB's own limit still applies


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Engine:
    """An in-memory DuckDB per workspace store, the last KEEP_DATABASES kept open."""

    def __init__(self, memory_mb: int) -> None:
        self.memory_mb = memory_mb
        self.databases: dict[str, tuple] = {}

    def database(self, root: str, views: list[list[str]]):
        import duckdb

        con, signature, made = self.databases.get(root, (None, None, []))
        if con is None:
            con = duckdb.connect(":memory:", config={"memory_limit": f"{self.memory_mb}MB",
                                                     "threads": THREADS})
            con.execute(f"CREATE SCHEMA {ATHENA_DATABASE}")
            con.execute(f"SET allowed_directories = [{_literal(root.rstrip(os.sep) + os.sep)}]")
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
            while len(self.databases) >= KEEP_DATABASES:  # the least recently used goes
                self.databases.pop(next(iter(self.databases)))[0].close()
        else:
            del self.databases[root]  # re-inserted below: most recently used last
        if signature != views:
            for view in made:
                con.execute(f"DROP VIEW IF EXISTS {view}")
            made = []
            for name, folder in views:
                source = _literal(os.path.join(folder, "**", "*.parquet"))
                select = (f"SELECT * FROM read_parquet({source}, union_by_name = true, "
                          "hive_partitioning = false)")
                for schema in ("main", ATHENA_DATABASE):
                    view = f"{schema}.{_ident(name)}"
                    try:
                        con.execute(f"CREATE VIEW {view} AS {select}")
                    except duckdb.IOException:
                        break  # its folder is gone (a group deleted meanwhile)
                    made.append(view)
        self.databases[root] = (con, views, made)
        return con

    def run(self, request: dict) -> bytes:
        import duckdb
        import pyarrow as pa

        try:
            con = self.database(request["root"], request["views"])
            reader = con.cursor().sql(request["sql"]).to_arrow_reader(65_536)
            sink = pa.BufferOutputStream()
            rows = 0
            with pa.ipc.new_stream(sink, reader.schema) as writer:
                for batch in reader:
                    rows += batch.num_rows
                    if rows > request["max_rows"]:
                        return _error("rows", str(request["max_rows"]))
                    writer.write_batch(batch)
            return b"O" + sink.getvalue().to_pybytes()
        except duckdb.OutOfMemoryException as exc:
            return _error("memory", str(exc))
        except MemoryError as exc:
            return _error("memory", str(exc) or "MemoryError")
        except duckdb.CatalogException as exc:
            return _error("catalog", str(exc))
        except duckdb.PermissionException as exc:
            return _error("permission", str(exc))
        except duckdb.InterruptException as exc:
            return _error("interrupt", str(exc))
        except duckdb.Error as exc:
            return _error("error", str(exc))


def _error(kind: str, message: str) -> bytes:
    return b"E" + json.dumps({"kind": kind, "message": message}).encode()


def _read(stream) -> bytes | None:
    head = stream.read(4)
    if len(head) < 4:
        return None
    (size,) = struct.unpack(">I", head)
    body = stream.read(size)
    return body if len(body) == size else None


def _write(stream, body: bytes) -> None:
    stream.write(struct.pack(">I", len(body)) + body)
    stream.flush()


def main() -> int:
    parent, memory_mb, budget_mb = (int(a) for a in sys.argv[1:4])
    _die_with_parent(parent)
    import duckdb  # noqa: F401 - imported before the cap, so the cap is the queries' share
    import pyarrow  # noqa: F401

    _cap_memory(budget_mb)
    engine = Engine(memory_mb)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    _write(stdout, b"R")  # ready: a query's time limit starts after the imports
    while True:
        request = _read(stdin)
        if request is None:
            return 0
        try:
            reply = engine.run(json.loads(request))
        except MemoryError:
            reply = _error("memory", "MemoryError")
        _write(stdout, reply)


if __name__ == "__main__":
    sys.exit(main())
