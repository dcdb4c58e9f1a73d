"""``DIR/results.sqlite``: one row per run, written by the sweep's driver only.

Table ``runs``:

==============  ==================================================================
id              integer primary key (also names the model: ``models/run-0001.safetensors``)
params          the run's resolved ``mlplab train`` settings, canonical JSON, UNIQUE
combo           the swept values of the run (JSON)
status          ``pending``, ``running``, ``done``, ``failed`` or ``diverged``
attempts        how many times the run was started
final_loss      E(w) at the end (NULL unless done)
grad_norm       ‖∇E(w)‖₂ at the end
accuracy        accuracy on ``accuracy_split`` (test, else validation, else train); NULL for regression
stop_reason     why training stopped (``converged``, ``epochs``, ``max_iter``, …; ``diverged``)
n_iter          steps taken
cost            sample-gradient evaluations; ``forward_evals``: line-search forward passes
seconds         training time in the worker
error           why a run failed or diverged
history         a diverged run's history (JSON columns k, epoch, loss, grad_norm, cost, …; ≤ 1000 rows);
                a finished run's history is in its model file (not stored twice)
metrics         train/validation/test metrics (JSON)
model           the model file, relative to DIR
==============  ==================================================================

WAL mode, ``synchronous=NORMAL`` and one transaction per state change: a
kill -9 of the driver loses at most the runs in flight (left ``running``,
they are started again by the next ``mlplab sweep``).
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import time
from pathlib import Path

from mlplab.io import load_network

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    params TEXT NOT NULL UNIQUE,
    combo TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'running', 'done', 'failed', 'diverged')),
    attempts INTEGER NOT NULL DEFAULT 0,
    final_loss REAL, grad_norm REAL, accuracy REAL, accuracy_split TEXT,
    stop_reason TEXT, n_iter INTEGER, cost INTEGER, forward_evals INTEGER, seconds REAL,
    error TEXT, history TEXT, metrics TEXT, model TEXT, worker TEXT,
    created_at REAL, started_at REAL, finished_at REAL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
FILE = "results.sqlite"
RESULT_COLUMNS = ("status", "final_loss", "grad_norm", "accuracy", "accuracy_split", "stop_reason", "n_iter",
                  "cost", "forward_evals", "seconds", "error", "history", "metrics", "model")


class StoreError(Exception):
    """The results folder cannot hold this sweep's results as it is; the message says why and what to do."""


def check_folder(folder: Path) -> None:
    """Before anything is written: every part of a results folder that exists is what it should be,
    ``results.sqlite`` an intact store of mlplab's, and the folder writable.

    Raises:
        StoreError: one line naming the part and the fix.
    """
    folder = Path(folder)
    where = str(folder)
    for name, want_dir in ((FILE, False), ("models", True), (".lock", False)):
        p = folder / name
        if p.exists() or p.is_symlink():
            if want_dir and not p.is_dir():
                raise StoreError(f"{where!r}: {name!r} is not a folder (it holds the sweep's models); remove or "
                                 "rename it, or give another --out")
            if not want_dir and not p.is_file():
                raise StoreError(f"{where!r}: {name!r} is a folder or not a regular file; remove or rename it, "
                                 "or give another --out")
    probe = folder if folder.is_dir() else (folder.parent if str(folder.parent) else Path("."))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".mlplab-probe.", dir=probe)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise StoreError(f"cannot write the sweep's results into {where!r} ({exc.strerror or exc}); give a "
                         "writable --out") from None
    if (folder / FILE).is_file():
        check_store(folder)


def _read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection that creates nothing next to the file: no -wal/-shm where none exist
    (immutable: then nothing is in a WAL), the ordinary read-only mode where the WAL is there."""
    wal = Path(f"{path}-wal")
    mode = "mode=ro" if wal.exists() else "mode=ro&immutable=1"
    return sqlite3.connect(f"file:{path}?{mode}", uri=True, timeout=30)


def check_store(folder: Path) -> None:
    """``results.sqlite`` is an intact SQLite file with mlplab's ``runs`` table (read-only look)."""
    path = Path(folder) / FILE
    where = f"{str(path)!r}"
    fix = "move it away (or give another --out) and run the sweep again"
    try:
        con = _read_only(path)
        try:
            ok = con.execute("PRAGMA quick_check").fetchone()
            columns = {r[1] for r in con.execute("PRAGMA table_info(runs)")}
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise StoreError(f"{where} is not a readable SQLite database ({exc}); it is damaged or not a sweep's "
                         f"results — {fix}") from None
    if not ok or ok[0] != "ok":
        raise StoreError(f"{where} is damaged (SQLite's check: {ok[0] if ok else 'no answer'}); {fix}")
    missing = {"id", "params", "combo", "status", *RESULT_COLUMNS} - columns
    if missing:
        raise StoreError(f"{where} is not an mlplab sweep's results (no runs table with {', '.join(sorted(missing))}); "
                         f"{fix}")


def other_sweep(folder: Path, runs) -> int:
    """How many runs the folder's store holds when none of them is one of ``runs`` (another spec's
    results: adding these would mix two sweeps), else 0. Reads only."""
    path = Path(folder) / FILE
    if not path.is_file():
        return 0
    params = [r.params for r in runs]
    con = _read_only(path)
    try:
        n = con.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        if n == 0:
            return 0
        for i in range(0, len(params), 500):
            chunk = params[i:i + 500]
            hit = con.execute(f"SELECT 1 FROM runs WHERE params IN ({','.join('?' * len(chunk))}) LIMIT 1", chunk)
            if hit.fetchone() is not None:
                return 0
        return n
    finally:
        con.close()


def connect(folder: Path, create: bool = True) -> sqlite3.Connection:
    path = Path(folder) / FILE
    if not create and not path.is_file():
        raise FileNotFoundError(path)
    con = sqlite3.connect(path, timeout=30, isolation_level=None)  # autocommit; explicit BEGIN where needed
    con.row_factory = sqlite3.Row
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    if create:
        con.executescript(SCHEMA)
    return con


def add_runs(con: sqlite3.Connection, runs) -> dict[str, int]:
    """Insert the runs not yet stored (pending); returns {params: id} for every run of this sweep."""
    now = time.time()
    con.execute("BEGIN IMMEDIATE")
    try:
        con.executemany("INSERT OR IGNORE INTO runs (params, combo, created_at) VALUES (?, ?, ?)",
                        [(r.params, json.dumps(r.combo), now) for r in runs])
        # runs the previous driver left running (killed) or failed go again; done and diverged are results
        con.executemany("UPDATE runs SET status = 'pending', attempts = 0, error = NULL "
                        "WHERE params = ? AND status IN ('running', 'failed')", [(r.params,) for r in runs])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    ids = dict(con.execute("SELECT params, id FROM runs WHERE params IN (SELECT value FROM json_each(?))",
                           (json.dumps([r.params for r in runs]),)))
    return {r.params: ids[r.params] for r in runs}


def lock(folder: Path):
    """An exclusive lock on the results folder for this driver (released when it exits, kill -9 included).

    Returns the open lock file (keep it open); raises BlockingIOError when another driver holds it.
    """
    import fcntl  # POSIX only: a Windows driver fails here, not on `import mlplab.sweeps`

    f = open(Path(folder) / ".lock", "a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        holder = f.read().strip()
        f.close()
        raise BlockingIOError(holder) from None
    f.seek(0)
    f.truncate()
    f.write(str(os.getpid()))
    f.flush()
    return f


def set_meta(con, **items) -> None:
    con.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                    [(k, json.dumps(v)) for k, v in items.items()])


def cached_runs(folder: Path, key: str):
    """[(combo, params), ...] of the expansion stored under fingerprint ``key`` (in the spec's order), or None."""
    path = Path(folder) / FILE
    if not path.is_file():
        return None
    con = _read_only(path)
    try:
        row = con.execute("SELECT value FROM meta WHERE key = 'expansion'").fetchone()
        if row is None:
            return None
        meta = json.loads(row[0])
        if meta.get("key") != key:
            return None
        ids = meta["ids"]
        got = {i: (json.loads(c), p) for i, c, p in con.execute(
            "SELECT id, combo, params FROM runs WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(ids),))}
    except sqlite3.Error:
        return None
    finally:
        con.close()
    if len(got) != len(ids):
        return None
    return [got[i] for i in ids]


def get_meta(con) -> dict:
    return {k: json.loads(v) for k, v in con.execute("SELECT key, value FROM meta WHERE key != 'expansion'")}


def status_of(con, ids) -> dict[int, str]:
    rows = con.execute("SELECT id, status FROM runs WHERE id IN (SELECT value FROM json_each(?))",
                       (json.dumps([int(i) for i in ids]),))
    return dict(rows.fetchall())


def mark_running(con, rid: int, attempt: int, worker: str) -> None:
    con.execute("UPDATE runs SET status = 'running', attempts = ?, worker = ?, started_at = ? WHERE id = ?",
                (attempt, worker, time.time(), rid))


def mark_pending(con, rids, unspent: bool = False) -> None:
    """Runs in flight back to pending; ``unspent``: their last start does not count (the cluster was lost,
    not their worker), so a rerun spends no retry on them."""
    dec = ", attempts = MAX(attempts - 1, 0)" if unspent else ""
    con.executemany(f"UPDATE runs SET status = 'pending'{dec} WHERE id = ? AND status = 'running'",
                    [(r,) for r in rids])


def record(con, rid: int, result: dict) -> None:
    """Store a finished run (done or diverged) — one transaction."""
    values = {c: result.get(c) for c in RESULT_COLUMNS}
    for c in ("history", "metrics"):
        values[c] = None if values[c] is None else json.dumps(values[c], allow_nan=False)
    sets = ", ".join(f"{c} = ?" for c in values)
    con.execute(f"UPDATE runs SET {sets}, finished_at = ? WHERE id = ?", (*values.values(), time.time(), rid))


def fail(con, rid: int, error: str) -> None:
    con.execute("UPDATE runs SET status = 'failed', error = ?, finished_at = ? WHERE id = ?", (error, time.time(), rid))


def rows(con, ids=None, history: bool = True, params: bool = True) -> list[dict]:
    """Every run (or those with the given ids) as dicts, JSON columns decoded, by id.

    ``history=False`` leaves the history out (None) and ``params=False`` keeps params as its JSON
    text: what a table of 10,000 runs needs, read in a fraction of the time."""
    cols = "*" if history else ", ".join(c for c in COLUMNS if c != "history")
    if ids is None:
        cur = con.execute(f"SELECT {cols} FROM runs ORDER BY id")
    else:
        ids = [int(i) for i in ids]
        cur = con.execute(f"SELECT {cols} FROM runs WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
                          (json.dumps(ids),))
    decode = [c for c in ("params", "combo", "history", "metrics") if (history or c != "history")
              and (params or c != "params")]
    loads = json.loads
    out = []
    for row in cur:
        d = dict(row)
        for c in decode:
            v = d[c]
            d[c] = None if v is None else loads(v)
        d.setdefault("history", None)
        out.append(d)
    return out


COLUMNS = ("id", "params", "combo", "status", "attempts", "final_loss", "grad_norm", "accuracy", "accuracy_split",
           "stop_reason", "n_iter", "cost", "forward_evals", "seconds", "error", "history", "metrics", "model", "worker",
           "created_at", "started_at", "finished_at")


def conflicts(folder: Path, runs) -> tuple[int, dict, list[str]]:
    """Stored runs with the swept values of one of ``runs`` but other settings (a shared option changed
    between two sweeps into one folder: mixing them would give two runs one label). Returns (how many,
    the first such combo, the settings that differ); (0, {}, []) when none. Reads only."""
    path = Path(folder) / FILE
    if not path.is_file():
        return 0, {}, []
    mine = {json.dumps(r.combo, sort_keys=True): r.params for r in runs}
    con = _read_only(path)
    try:
        stored = con.execute("SELECT combo, params FROM runs").fetchall()
    finally:
        con.close()
    n, first, keys = 0, {}, []
    for combo, params in stored:
        c = json.loads(combo)
        want = mine.get(json.dumps(c, sort_keys=True))
        if want is not None and want != params:
            n += 1
            if not first:
                a, b = json.loads(params), json.loads(want)
                first = c
                keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    return n, first, keys


def histories(con, folder: Path, ids) -> dict[int, dict]:
    """{id: history} of the given runs: from the database (diverged runs) or the run's model file."""
    out = {}
    for r in rows(con, ids):
        h = r.get("history")
        if h is None and r.get("model"):
            try:
                _, meta = load_network(Path(folder) / r["model"])
                h = ((meta.get("extra") or {}).get("cli") or {}).get("history")
            except Exception:  # noqa: BLE001 - a missing or damaged model file: no curve for that run
                h = None
        out[r["id"]] = h
    return out
