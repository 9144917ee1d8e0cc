"""Where benchmark records live: an embedded SQLite database.

Append-only: a record is written once, in its own transaction, under its
UUID, and never changed; writing a UUID the store already has is a no-op,
which is what merging records from another machine or lab relies on.  The
database runs in WAL mode with a generous busy timeout, so two runs (or two
processes) can write at once without losing anything, and a run killed
mid-write leaves every committed record readable.  (WAL needs a local file
system: keep the store off NFS, and export records to share them.)

Records travel as JSON lines (one record an line, any tool reads them) or
Parquet (``pip install 'snnlab[bench]'``: pyarrow), one row a record with
the fields that select records as columns and the whole record as JSON.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from .schema import check_record

__all__ = ["Store", "read_records", "write_records"]

_COLUMNS = ("uuid", "created", "name", "case_key", "model", "simulator", "commit", "status")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    uuid TEXT PRIMARY KEY, created TEXT, name TEXT, case_key TEXT, model TEXT,
    simulator TEXT, "commit" TEXT, status TEXT, record TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS records_case ON records (case_key);
CREATE INDEX IF NOT EXISTS records_commit ON records ("commit");
"""


def _row(r: dict) -> tuple:
    case = r["case"]
    return (r["uuid"], r["created"], r["name"], r["case_key"], case["model"],
            case["simulator"], r["context"].get("commit"), r["status"],
            json.dumps(r, sort_keys=True, allow_nan=False))


class Store:
    """The records in the SQLite database at ``path``, made on first use;
    ``readonly``: an existing store, opened to read (nothing is created or
    changed, a database that is no store is refused)."""

    def __init__(self, path, readonly: bool = False):
        self.path = Path(path)
        self.readonly = readonly
        if self.path.is_dir():
            raise ValueError(f"store: {str(self.path)!r} is a folder, not a database file")
        if readonly and not self.path.is_file():
            raise ValueError(f"store: there is no store at {str(self.path)!r}")
        try:
            if readonly:
                self._db = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
                found = self._db.execute("SELECT name FROM sqlite_master WHERE type='table' "
                                         "AND name='records'").fetchone()
                if found is None:
                    self._db.close()
                    raise sqlite3.DatabaseError("it has no table of records")
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
            self._setup()
        except sqlite3.DatabaseError as e:
            raise ValueError(f"store: {str(self.path)!r} is not a usable snnlab store "
                             f"({e})") from None

    def _setup(self, patience: float = 60.0) -> None:
        """WAL journal and the schema.  Two processes making one new store
        at once: switching the journal needs the database alone, and SQLite
        answers "locked" at once there rather than waiting (its busy
        timeout does not cover it), so the switch is tried again."""
        deadline = time.monotonic() + patience
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
                self._db.executescript(_SCHEMA)
                return
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def close(self) -> None:
        self._db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def add(self, records) -> int:
        """Append records (checked against the schema first); returns how
        many were new (a UUID already stored is left as it is)."""
        if self.readonly:
            raise ValueError(f"store: {self.path} was opened to read")
        records = [check_record(r) for r in ([records] if isinstance(records, dict)
                                             else list(records))]
        with self._db:  # one transaction: all of them or none
            self._db.execute("BEGIN IMMEDIATE")
            before = self._db.total_changes
            self._db.executemany(
                f"INSERT OR IGNORE INTO records ({', '.join(map(repr, _COLUMNS))}, record) "
                f"VALUES ({', '.join('?' * (len(_COLUMNS) + 1))})", [_row(r) for r in records])
            return self._db.total_changes - before

    def records(self, **where) -> list[dict]:
        """Records in the order they were written, those whose ``where``
        fields (any of ``name``, ``case_key``, ``model``, ``simulator``,
        ``commit``, ``status``, ``uuid``) equal the values given.  A commit
        matches when one hash starts with the other (a record's short hash,
        a full hash given, or the other way round), at least 4 digits.
        Each record is checked as it is read (schema.check_record: older
        versions come as this one; a row that is no record raises)."""
        bad = sorted(set(where) - set(_COLUMNS))
        if bad:
            raise ValueError(f"records: unknown field {bad[0]!r}; allowed: "
                             f"{', '.join(_COLUMNS)}")
        sql, args = "SELECT record FROM records", []
        clauses = []
        commit = where.pop("commit", None)
        if commit is not None:
            commit = str(commit).strip().lower()
            if len(commit) < 4 or not all(c in "0123456789abcdef" for c in commit) \
                    or not commit.strip("0"):
                raise ValueError(f"commit {commit!r}: expected a hash of at least 4 hex digits")
        for k, v in where.items():
            if v is not None:
                clauses.append(f'"{k}" = ?')
                args.append(v)
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        out = [check_record(json.loads(row[0]))  # (older versions read as this one)
               for row in self._db.execute(sql + " ORDER BY rowid", args)]
        if commit is not None:
            out = [r for r in out if _same_commit(r["context"], commit)]
        return out

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM records").fetchone()[0]


def _same_commit(context: dict, commit: str) -> bool:
    for have in (context.get("commit_full"), context.get("commit")):
        if have and (have.startswith(commit) or commit.startswith(have)):
            return True
    return False


def write_records(records, path) -> Path:
    """Records to a ``.jsonl`` or ``.parquet`` file (by its suffix), written
    to a temporary file and renamed: a reader never sees half of it."""
    from ..files import write_atomically

    path = Path(path)
    records = [check_record(r) for r in records]
    if path.suffix == ".jsonl":
        text = "".join(json.dumps(r, sort_keys=True, allow_nan=False) + "\n" for r in records)
        write_atomically(path, lambda f: f.write(text.encode()))
    elif path.suffix == ".parquet":
        pa, pq = _arrow()
        cols = {c: [] for c in (*_COLUMNS, "record")}
        for r in records:
            for c, v in zip(cols, _row(r)):
                cols[c].append(v)
        table = pa.table({c: pa.array(v, type=pa.string()) for c, v in cols.items()})
        write_atomically(path, lambda f: pq.write_table(table, f))
    else:
        raise ValueError(f"{str(path)!r}: records are written as .jsonl or .parquet")
    return path


def read_records(path) -> list[dict]:
    """Records from a ``.jsonl``, ``.parquet`` or SQLite (``.sqlite``,
    ``.db``) file, each checked against the schema."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{str(path)!r}: no such file")
    if path.suffix == ".jsonl":
        out = []
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise ValueError(f"{path}:{i}: not JSON ({e})") from None
    elif path.suffix == ".parquet":
        _, pq = _arrow()
        out = [json.loads(s) for s in pq.read_table(path, columns=["record"])
               .column("record").to_pylist()]
    elif path.suffix in (".sqlite", ".db", ".sqlite3"):
        with Store(path, readonly=True) as s:
            out = s.records()
    else:
        raise ValueError(f"{str(path)!r}: records are read from .jsonl, .parquet or "
                         ".sqlite files")
    return [check_record(r, where=str(path)) for r in out]


def _arrow():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise RuntimeError("Parquet needs pyarrow: pip install 'snnlab[bench]'") from None
    return pa, pq
