"""The PostgreSQL store, for many machines sharing one store (extra ``[postgres]``).

* :mod:`.schema`: the schema, migrations and ``connect()``.
* :mod:`.write`: the write path, one transaction a batch.
* :mod:`.read`: :class:`PostgresStore`, the reader and maintenance.

Importing this package needs psycopg; :func:`llmlog.store.open_store` reports a missing
extra with an install hint.
"""

from __future__ import annotations
