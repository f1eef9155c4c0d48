"""The SQLite store: one file, WAL mode; the default.

* :mod:`.schema`: migrations (the tables, the full-text index, the rollups' tables).
* :mod:`.write`: the write path, one transaction a batch (rows, tags, full text,
  rollups via :mod:`.rollup`); ``connect()`` opens and migrates a file.
* :mod:`.read`: :class:`SQLiteStore`, the reader and maintenance.
"""

from __future__ import annotations

from llmlog.store.sqlite.read import SQLiteStore
from llmlog.store.sqlite.write import SQLiteSink, connect, sqlite_path

__all__ = ["SQLiteSink", "SQLiteStore", "connect", "sqlite_path"]
