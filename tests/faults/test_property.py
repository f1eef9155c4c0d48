"""Property: any record given to the public API comes back from the store, or is counted."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import orjson
from faultkit import sqlite_ids
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import llmlog

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
FIELDS = [
    "timestamp", "duration_ms", "ttft_ms", "cost_usd", "session_id", "user_id", "tags",
    "metadata", "usage", "status", "provider", "model", "error", "params", "operation",
]  # fmt: skip
records = st.fixed_dictionaries(
    {"messages": json_values, "raw": json_values, "parsed": json_values},
    optional={f: json_values for f in FIELDS},
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(records, min_size=1, max_size=8))
def test_every_record_comes_back_or_is_counted(batch: list[dict[str, Any]], tmp_path: Path) -> None:
    """Arbitrary values in every field: each record is in SQLite and JSON lines, or counted."""
    case = tmp_path / f"case-{len(list(tmp_path.iterdir()))}"
    case.mkdir()
    llmlog.reset()
    llmlog.configure(db=str(case / "llmlog.db"), jsonl=str(case / "llm.jsonl"))
    ids = []
    for r in batch:
        fields = {k: v for k, v in r.items() if k not in ("messages", "raw", "parsed")}
        ids.append(llmlog.log_interaction(r["messages"], r["raw"], r["parsed"], **fields))
    llmlog.shutdown(30)
    st_ = llmlog.stats()
    lost = st_["dropped"] + st_["dead_lettered"] + st_["filtered"]
    stored = sqlite_ids(case / "llmlog.db")
    lines = (case / "llm.jsonl").read_bytes().splitlines() if (case / "llm.jsonl").exists() else []
    in_jsonl = [orjson.loads(x)["request_id"] for x in lines]
    assert len(set(stored)) == len(stored)
    assert len(stored) + lost >= len(set(ids)), (st_, len(stored), len(ids))
    assert set(stored) <= set(ids) and set(in_jsonl) <= set(ids)
    assert len(in_jsonl) + lost >= len(set(ids))
    db = sqlite3.connect(case / "llmlog.db")
    db.close()
