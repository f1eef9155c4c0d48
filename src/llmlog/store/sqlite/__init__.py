"""The SQLite store: one file, WAL mode; the default.

* :mod:`.schema`: migrations (the tables, the full-text index, the rollups' tables).
* :mod:`.write`: the write path, one transaction a batch (rows, tags, full text,
  rollups via :mod:`.rollup`); ``connect()`` opens and migrates a file.
* :mod:`.read`: :class:`SQLiteStore`, the reader and maintenance.

Modules are imported by name (``llmlog.store.registry`` names the reader and the
writer): importing this package imports nothing, so ``.rollup`` stays importable from
``llmlog.store.aggregate`` without pulling in the reader.
"""
