"""``llmlog export``: JSON lines, CSV, Parquet and OpenAI fine-tuning data."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import orjson
import pyarrow.parquet as pq
from querydata import Run


class TestExport:
    def test_jsonl_is_the_records_oldest_first(
        self, sample: dict[str, str], run: Run, tmp_path: Path
    ) -> None:
        """jsonl writes every matching record as stored, oldest first, and counts them."""
        result = run("export", "-f", "jsonl", "-o", str(tmp_path / "out.jsonl"))
        assert result.exit_code == 0
        assert result.stderr == f"exported 6 interaction(s) to {tmp_path / 'out.jsonl'}\n"
        recs = [orjson.loads(x) for x in (tmp_path / "out.jsonl").read_bytes().splitlines()]
        assert [r["request_id"] for r in recs] == [f"req-000{i}" for i in range(1, 7)]
        assert recs[0] == orjson.loads(run("show", "req-0001", "--json").stdout)

    def test_csv_to_stdout_with_filters(self, sample: dict[str, str], run: Run) -> None:
        """csv writes a header and one flat row per interaction; filters apply."""
        result = run("export", "-f", "csv", "--user", "u-1")
        rows = list(csv.DictReader(io.StringIO(result.stdout)))
        assert [r["request_id"] for r in rows] == ["req-0001", "req-0002"]
        assert rows[1]["prompt"] == "I want a refund for order 42"
        assert rows[1]["output"] == "Sure, I have started the refund."
        assert rows[1]["tags"] == "prod,support"
        assert rows[1]["total_tokens"] == "25"
        assert orjson.loads(rows[1]["tool_calls"])[0]["name"] == "refund_order"

    def test_parquet(self, sample: dict[str, str], run: Run, tmp_path: Path) -> None:
        """parquet writes typed columns readable by pyarrow."""
        out = tmp_path / "all.parquet"
        assert run("export", "-f", "parquet", "-o", str(out)).exit_code == 0
        table = pq.read_table(out)
        assert table.num_rows == 6
        assert table.column("request_id").to_pylist()[0] == "req-0001"
        assert table.schema.field("input_tokens").type == "int64"
        assert table.column("status").to_pylist().count("error") == 1

    def test_openai_chat_appends_reply_skips_and_dedupes(
        self, sample: dict[str, str], run: Run
    ) -> None:
        """openai-chat writes messages plus the reply, once each, and says what it skipped."""
        result = run("export", "-f", "openai-chat")
        examples = [orjson.loads(x) for x in result.stdout.splitlines()]
        assert len(examples) == 3
        assert examples[0] == {
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": "What is the capital of France?"},
                {"role": "assistant", "content": "The capital of France is Paris."},
            ]
        }
        assert examples[1]["messages"][-1]["tool_calls"] == [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "refund_order", "arguments": '{"order":42}'},
            }
        ]
        assert result.stderr == (
            "exported 3 conversation(s); skipped 3: 1 error, "
            "1 not a chat (embeddings), 1 duplicate\n"
        )

    def test_openai_chat_by_feedback_score(self, sample: dict[str, str], run: Run) -> None:
        """--min-score exports only interactions whose latest score is high enough."""
        result = run("export", "-f", "openai-chat", "--min-score", "5")
        assert [orjson.loads(x)["messages"][1]["content"] for x in result.stdout.splitlines()] == [
            "What is the capital of France?"
        ]
        assert result.stderr == "exported 1 conversation(s)\n"
