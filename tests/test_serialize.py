"""Whatever an app passes in becomes JSON or a marked stand-in; logging never raises."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import uuid

import numpy as np
import orjson
import pydantic
import pytest

from llmlog._serialize import dumps, to_jsonable


class Color(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Msg(pydantic.BaseModel):
    role: str
    content: str


class BrokenRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")


class TestDumps:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (Msg(role="user", content="hi"), {"role": "user", "content": "hi"}),
            (Point(1, 2), {"x": 1, "y": 2}),
            (dt.datetime(2026, 1, 2, 3, 4, 5), "2026-01-02T03:04:05"),
            (b"hello", "hello"),
            (b"\xff\x00", "<bytes base64:/wA=>"),
            ({3, 1, 2}, [1, 2, 3]),
            (np.float32(1.5), 1.5),
            (np.int64(7), 7),
            (np.arange(3), [0, 1, 2]),
            (Color.RED, "red"),
            (decimal.Decimal("1.25"), 1.25),
            (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
            ({1: "a", (1, 2): "b"}, {"1": "a", "(1, 2)": "b"}),
            (2**70, str(2**70)),
            (ValueError("bad"), {"type": "ValueError", "message": "bad"}),
            ("lone \ud800 surrogate", "lone ? surrogate"),
        ],
    )
    def test_converts(self, value: object, expected: object) -> None:
        """Each kind of value becomes the JSON an app would expect."""
        assert orjson.loads(dumps(value)) == expected

    def test_cycle_is_marked(self) -> None:
        """A cyclic structure serialises with the cycle replaced by a marker."""
        a: dict = {"name": "a"}
        a["self"] = a
        assert orjson.loads(dumps(a)) == {"name": "a", "self": "<cycle>"}

    def test_broken_repr_is_marked(self) -> None:
        """An object with no conversion and a raising __repr__ becomes a stand-in."""
        assert orjson.loads(dumps({"x": BrokenRepr()})) == {"x": "<unserializable BrokenRepr>"}

    def test_model_dump_that_raises(self) -> None:
        """A model_dump() that raises does not break serialization."""

        class Bad:
            def model_dump(self, **kw):
                raise RuntimeError("nope")

        out = orjson.loads(dumps([Bad()]))
        assert out[0].startswith("<unserializable")

    def test_deep_nesting(self) -> None:
        """Very deep nesting is cut with a marker instead of a RecursionError."""
        v: list = []
        for _ in range(1000):
            v = [v]
        assert b"<too deep>" in dumps(v)

    def test_to_jsonable_is_pure_json(self) -> None:
        """to_jsonable returns only JSON types."""
        out = to_jsonable({"s": {1, 2}, "t": (1, 2), "f": float("nan")})
        assert out == {"s": [1, 2], "t": [1, 2], "f": "nan"}
