"""The builtin analyst's engine: the whole file in DuckDB, within the executor's memory limit.

Runs inside the executor, imported by the builtin's blocks from autorun's read-only package.
``open_data`` reads the file once into a DuckDB table ``data``: for a small file in memory, for
a larger one into a columnar cache, ``.autorun/cache/<key>.duckdb`` in the work dir, that later
blocks and later sessions reuse while the file is unchanged (the key holds its real path, size
and modification time, the reading options and DuckDB's version). DuckDB may use a share of the
memory limit and spills the rest under ``.autorun/duckdb-spill``, so a file larger than the
limit is analysed whole instead of killed. Nothing here follows a symlink in the work dir: a
planted link where the cache or spill directory goes is an error, one at the cache file is removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import stat
import uuid
from dataclasses import dataclass, field
from typing import Any

WORK_DIR = ".autorun"
CACHE_DIR = os.path.join(WORK_DIR, "cache")
SPILL_DIR = os.path.join(WORK_DIR, "duckdb-spill")
CACHE_REVISION = "1"
CACHE_MIN_BYTES = 128 * 2**20  # smaller files are read into memory: a cache would cost more than it saves
DUCKDB_SHARE = 0.5  # of the executor's memory limit; Python, pandas and matplotlib need the rest
PYTHON_BYTES = 180 * 2**20  # what the kernel with pandas, DuckDB and matplotlib imported holds itself
MIN_DUCKDB_BYTES = 64 * 2**20
TABLE = "data"


@dataclass
class Data:
    """The file as a DuckDB table: its connection, size, columns and how it was read."""

    con: Any
    rows: int
    columns: list[str]
    types: dict[str, str]
    notes: dict[str, Any] = field(default_factory=dict)
    table: str = TABLE
    memory: int | None = None  # DuckDB's memory limit in bytes (None: its own default)

    def sql(self, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        return self.con.execute(query, params or []).fetchall()

    def one(self, query: str, params: list[Any] | None = None) -> tuple[Any, ...]:
        return self.con.execute(query, params or []).fetchone()

    def frame(self, query: str) -> Any:
        return self.con.execute(query).df()


def quote(name: str) -> str:
    """A column name as a DuckDB identifier: "x", with embedded quotes doubled."""
    return '"' + str(name).replace('"', '""') + '"'


def literal(text: str) -> str:
    """A string as a DuckDB literal: 'x', with embedded quotes doubled."""
    return "'" + str(text).replace("'", "''") + "'"


def duckdb_memory(memory_limit: int | None) -> int | None:
    """DuckDB's own memory limit in bytes for an executor limit: its share, less under a small limit
    (the interpreter's own memory comes first), never below a working minimum."""
    if not memory_limit:
        return None
    return max(MIN_DUCKDB_BYTES, min(int(memory_limit * DUCKDB_SHARE), memory_limit - PYTHON_BYTES))


def connect(database: str = ":memory:", *, read_only: bool = False, memory_limit: int | None = None) -> Any:
    """A DuckDB connection with its memory bounded by the executor's limit and spilling in the work dir."""
    import duckdb

    con = duckdb.connect(database, read_only=read_only)
    limit = duckdb_memory(memory_limit)
    if limit is not None:
        con.execute(f"SET memory_limit = '{limit // 2**20}MiB'")
    con.execute(f"SET threads = {cpu_allowance()}")
    con.execute(f"SET temp_directory = {literal(safe_dir(SPILL_DIR))}")
    with contextlib.suppress(Exception):  # in a Jupyter kernel DuckDB refuses the setting without ipywidgets
        con.execute("SET enable_progress_bar = false")
    return con


def cpu_allowance() -> int:
    """The CPUs this process may use: its affinity, capped by a cgroup CPU quota (Docker's --cpus)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = _cgroup_quota("/sys/fs/cgroup/cpu.max")  # cgroup v2: "max 100000" or "150000 100000"
    if quota is None:
        quota = _cgroup_quota("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu/cpu.cfs_period_us")
    if quota is not None:
        cpus = min(cpus, max(1, math.ceil(quota)))
    return max(1, cpus)


def _cgroup_quota(path: str, period_path: str | None = None) -> float | None:
    """CPUs a cgroup's quota allows (1.5 for 150000/100000); None without a quota."""
    try:
        with open(path) as f:
            fields = f.read().split()
        if period_path is not None:
            with open(period_path) as f:
                fields.append(f.read().strip())
        limit, period = fields[0], fields[1]
        return None if limit == "max" or int(limit) <= 0 else int(limit) / int(period)
    except (OSError, ValueError, IndexError):
        return None


def safe_dir(relative: str) -> str:
    """``relative`` (inside the work dir) as a real directory, made 0700 where missing; never through a symlink."""
    path = ""
    for part in relative.split(os.sep):
        path = os.path.join(path, part) if path else part
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            os.mkdir(path, 0o700)
            continue
        if not stat.S_ISDIR(st.st_mode):
            raise RuntimeError(f"{path} in the work dir is not a directory (a planted link?); remove it and run again")
    return path


def cache_key(path: str, fmt: str, read: dict[str, Any]) -> tuple[str, str]:
    """(the source's part of the cache name, the whole name): a changed file or option gives a new name."""
    import duckdb

    real = os.path.realpath(path)
    st = os.stat(real)
    source = hashlib.sha256(real.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    facts = [real, st.st_size, st.st_mtime_ns, fmt, sorted(read.items()), duckdb.__version__, CACHE_REVISION]
    version = hashlib.sha256(json.dumps(facts, default=str).encode()).hexdigest()[:12]
    return source, f"{source}-{version}.duckdb"


def cached_file(name: str) -> str | None:
    """The cache file's path when it is a regular file; a symlink in its place is removed, never followed."""
    path = os.path.join(safe_dir(CACHE_DIR), name)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISREG(st.st_mode):
        return path
    with contextlib.suppress(OSError):
        os.unlink(path)
    return None


def open_cached(
    path: str, fmt: str, read: dict[str, Any], build: Any, memory_limit: int | None, cache: str = "auto"
) -> tuple[Any, dict[str, Any]]:
    """A connection holding table ``data`` for the file, and the notes of how it was read.

    ``build(con)`` reads the file into ``data`` and returns the notes. ``cache``: "auto" (a cache
    for files of CACHE_MIN_BYTES or a quarter of DuckDB's memory, whichever is less), "always" or "never".
    """
    size = os.stat(path).st_size
    small = size < min(CACHE_MIN_BYTES, (duckdb_memory(memory_limit) or 2**62) // 4)
    if cache == "never" or (cache == "auto" and small):
        con = connect(memory_limit=memory_limit)
        return con, {**build(con), "cache": None}
    source, name = cache_key(path, fmt, read)
    found = cached_file(name)
    if found is not None:
        try:
            con = connect(found, read_only=True, memory_limit=memory_limit)
            notes = json.loads(con.execute("SELECT notes FROM autorun_notes").fetchone()[0])
            return con, {**notes, "cache": "reused"}
        except Exception:  # written by another DuckDB, or cut short: made again below
            with contextlib.suppress(OSError):
                os.unlink(found)
    final = os.path.join(safe_dir(CACHE_DIR), name)
    partial = os.path.join(CACHE_DIR, f"partial-{uuid.uuid4().hex}.duckdb")
    try:
        con = connect(partial, memory_limit=memory_limit)
        notes = build(con)
        con.execute("CREATE TABLE autorun_notes AS SELECT ? AS notes", [json.dumps(notes)])
        con.execute("CHECKPOINT")
        con.close()
        os.replace(partial, final)
    finally:
        for leftover in (partial, partial + ".wal"):
            with contextlib.suppress(OSError):
                os.unlink(leftover)
    _remove_older(source, name)
    return connect(final, read_only=True, memory_limit=memory_limit), {**notes, "cache": "made"}


def _remove_older(source: str, keep: str) -> None:
    """Remove the caches of earlier versions of the same file (unlink never follows a link)."""
    for entry in os.listdir(CACHE_DIR):
        if entry.startswith(source + "-") and entry != keep:
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(CACHE_DIR, entry))


def describe(con: Any, table: str = TABLE) -> tuple[int, list[str], dict[str, str]]:
    """(rows, columns, DuckDB type of each column) of a table."""
    rows = int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    described = con.execute(f"DESCRIBE {table}").fetchall()
    return rows, [str(r[0]) for r in described], {str(r[0]): str(r[1]) for r in described}
