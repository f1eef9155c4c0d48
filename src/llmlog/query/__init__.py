"""The query API's former home: everything here now lives in :mod:`llmlog.store`.

``from llmlog.query import Query, open_store`` keeps working; new code imports
from :mod:`llmlog.store`.
"""

from __future__ import annotations

from llmlog.store import *  # noqa: F403
from llmlog.store import __all__ as __all__
