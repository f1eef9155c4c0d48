"""``llmlog redact [FILE]``: text and JSON lines from stdin or a file to stdout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from llmlog.cli import cli
from llmlog.cli.redact_cmd import redact


def run(args: list[str], stdin: str | bytes = "") -> tuple[int, str, str]:
    runner = CliRunner()
    res = runner.invoke(redact, args, input=stdin, catch_exceptions=False)
    return res.exit_code, res.stdout_bytes.decode("utf-8", "replace"), res.stderr


class TestRedactCommand:
    def test_text_lines(self) -> None:
        """Plain lines are redacted as text; clean lines pass through."""
        code, out, err = run([], "hello jane@corp.com\nnothing here\n")
        assert code == 0
        assert out == "hello [EMAIL]\nnothing here\n"
        assert err.strip() == "redacted 1 value in 1 of 2 lines: EMAIL 1"

    def test_json_lines_stay_json(self) -> None:
        """Strings inside JSON objects are redacted; keys and numbers stay; output parses."""
        line = json.dumps(
            {
                "jane@corp.com": "call +44 20 7946 0958",
                "n": 4155550132,
                "args": json.dumps({"card": "4242 4242 4242 4242"}),
            }
        )
        _, out, _ = run([], line + "\n")
        obj = json.loads(out)
        assert obj["jane@corp.com"] == "call [PHONE]"
        assert obj["n"] == 4155550132
        assert json.loads(obj["args"]) == {"card": "[CREDIT_CARD]"}

    def test_records_get_counts(self) -> None:
        """An llmlog record keeps its fields and gets its redaction counts updated."""
        rec = {
            "event": "llm_interaction",
            "request_id": "r1",
            "model": "gpt-4o",
            "prompt_messages": [{"role": "user", "content": "mail jane@corp.com"}],
            "redaction": {"counts": {"PHONE": 2}},
        }
        _, out, err = run([], json.dumps(rec) + "\n")
        got = json.loads(out)
        assert got["prompt_messages"][0]["content"] == "mail [EMAIL]"
        assert got["redaction"]["counts"] == {"EMAIL": 1, "PHONE": 2}
        assert "EMAIL 1" in err and "PHONE" not in err

    def test_invalid_json_line_is_text(self) -> None:
        """A line that looks like JSON but is not is redacted as text."""
        _, out, _ = run([], '{"broken": jane@corp.com\n')
        assert out == '{"broken": [EMAIL]\n'

    def test_file_argument_and_crlf(self, tmp_path: Path) -> None:
        """FILE is read instead of stdin; line endings are kept."""
        f = tmp_path / "in.txt"
        f.write_bytes(b"a jane@corp.com\r\nb\r\n")
        code, out, _ = run([str(f)])
        assert code == 0 and out == "a [EMAIL]\r\nb\r\n"

    def test_missing_file(self, tmp_path: Path) -> None:
        """A missing file is a one-line error and exit code 1."""
        code, out, err = run([str(tmp_path / "nope.jsonl")])
        assert code == 1
        assert err.startswith("Error: cannot read ") and err.count("\n") == 1
        assert out == ""

    def test_options(self) -> None:
        """Rules, deny-terms, allow-list, --only and operators are honoured."""
        code, out, _ = run(
            [
                "-r",
                "EMP=EMP-[0-9]{6}",
                "--deny",
                "Falcon",
                "--allow",
                "ops@corp.com",
                "--only",
                "EMAIL",
                "-o",
                "EMAIL=mask",
            ],
            "EMP-123456 Falcon ops@corp.com jane@corp.com +44 20 7946 0958\n",
        )
        assert code == 0
        assert out == "[EMP] [DENY_TERM] ops@corp.com j***@corp.com +44 20 7946 0958\n"

    @pytest.mark.parametrize("args", [["-o", "EMAIL"], ["--only", "NOPE"], ["-r", "x=("]])
    def test_bad_options(self, args: list[str]) -> None:
        """Bad option values are one-line errors with exit code 1."""
        code, _, err = run(args, "x\n")
        assert code == 1 and err.startswith("Error: ")

    def test_binary_input_round_trips(self) -> None:
        """Bytes that are not UTF-8 pass through unchanged."""
        res = CliRunner().invoke(
            redact, [], input=b"\xff\xfe jane@corp.com\n", catch_exceptions=False
        )
        assert res.exit_code == 0 and res.stdout_bytes == b"\xff\xfe [EMAIL]\n"

    def test_registered_on_the_group(self) -> None:
        """`llmlog redact` is reachable from the main command."""
        res = CliRunner().invoke(cli, ["redact"], input="jane@corp.com\n", catch_exceptions=False)
        assert res.exit_code == 0 and res.stdout == "[EMAIL]\n"
