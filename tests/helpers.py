"""Shared test data: a realistic chat interaction in the classic snippet's shape."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import orjson

MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is the capital of France?"},
]

RESPONSE: dict[str, Any] = {
    "id": "chatcmpl-123",
    "object": "chat.completion",
    "created": 1732636800,
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [
        {
            "index": 0,
            "finish_reason": "stop",
            "message": {"role": "assistant", "content": "The capital of France is Paris."},
        }
    ],
    "usage": {
        "prompt_tokens": 20,
        "completion_tokens": 7,
        "total_tokens": 27,
        "prompt_tokens_details": {"cached_tokens": 4},
    },
}


def db_records(path: str | Path = "llmlog.db") -> list[dict[str, Any]]:
    """Return every interaction record in an SQLite store, oldest first."""
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT record FROM interactions ORDER BY ts, id")
        return [orjson.loads(r[0]) for r in rows]
    finally:
        db.close()
