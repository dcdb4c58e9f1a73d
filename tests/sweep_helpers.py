"""Reading a sweep's results folder in the sweep tests."""

import sqlite3
from pathlib import Path


def db_rows(out):
    """Every row of ``out/results.sqlite``'s runs table, by id, as dicts (JSON columns left as text)."""
    con = sqlite3.connect(Path(out) / "results.sqlite")
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute("SELECT * FROM runs ORDER BY id")]
    finally:
        con.close()
