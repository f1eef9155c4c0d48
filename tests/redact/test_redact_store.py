"""``llmlog redact --db``: scrubbing a store in place, and ``Store.rewrite`` under concurrency."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner, Result

import llmlog
from llmlog.cli import cli
from llmlog.redact import Redactor
from llmlog.store import Query, open_store
from llmlog.store.sqlite.read import SQLiteStore

KEY = "sk-proj-Ab3dE5fG7hI9jK1lM2nO4pQ6rS8tU0vWxYz"
IBAN = "DE89370400440532013000"
CARD = "4242 4242 4242 4242"
SSN = "123-45-6789"
ANSWER = "The refund policy allows returns within thirty days. " * 400  # > one 16 KB page


def email(i: int) -> str:
    return f"jane.q{i:03d}@corp.com"


def phone(i: int) -> str:
    return f"+44 20 7946 0{i:03d}"


def fill(path: Path, n: int, *, start: int = 0) -> list[str]:
    """Log ``n`` interactions full of PII (redaction off) plus feedback; return the values.

    llmlog stays configured, so its writer keeps the store (and its WAL) open.
    """
    # the full-text index holds words in lower case and prefix-compressed: the end of
    # an IBAN (one word there) shows whether the index still holds it
    values = [KEY, IBAN, CARD, SSN, IBAN.lower()[-12:]]
    for i in range(start, start + n):
        e, p, ip = email(i), phone(i), f"10.20.{i // 250}.{i % 250 + 1}"
        values += [e, p, ip]
        args = json.dumps({"to": e, "card": CARD})
        rid = llmlog.log_interaction(
            [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": [{"type": "text", "text": f"I am {e}, call {p}"}]},
            ],
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "model": "gpt-4o",
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {
                            "role": "assistant",
                            "content": f"Noted, IBAN {IBAN}. " + ANSWER,
                            "tool_calls": [
                                {
                                    "id": "c1",
                                    "type": "function",
                                    "function": {"name": "send", "arguments": args},
                                }
                            ],
                        },
                    }
                ],
                "usage": {"prompt_tokens": 30, "completion_tokens": 900},
            },
            model="gpt-4o",
            session_id=f"sess:{e}",
            user_id=e,
            tags=["vip", f"owner:{e}"],
            metadata={"ssn": SSN, "ip": ip, "n": i},
        )
        llmlog.feedback(rid, 1.0, comment=f"the key {KEY} leaked, ask {e}")
    llmlog.log_interaction(
        [{"role": "user", "content": "What is the capital of France?"}],
        None,
        parsed_output="Paris, as in every atlas.",
        model="gpt-4o",
        tags=["geo"],
    )
    assert llmlog.flush(10)
    return values


def scrubber(redactor: Redactor | None = None) -> Any:
    """A rewrite transform: the redacted record, or None when nothing was found."""
    r = redactor or Redactor()

    def transform(rec: dict[str, Any]) -> dict[str, Any] | None:
        before = dict(rec.get("redaction", {}).get("counts", {}))
        r(rec)
        return None if rec["redaction"]["counts"] == before else rec

    return transform


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def raw_bytes(path: Path) -> bytes:
    """The bytes of the store and its write-ahead log as they are on disk."""
    out = path.read_bytes()
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        out += wal.read_bytes()
    return out


def leftovers(path: Path, values: list[str]) -> list[str]:
    data = raw_bytes(path)
    return [v for v in values if v.encode() in data]


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, list[str]]:
    """A store of 12 interactions and 12 feedback records full of PII, still open for writing."""
    path = tmp_path / "llmlog.db"
    llmlog.configure(db=str(path), redact=False)
    return path, fill(path, 12)


class TestScrubCommand:
    def test_no_value_left_in_the_files(self, store: tuple[Path, list[str]]) -> None:
        """After the scrub none of the values is anywhere in the db file or its WAL."""
        path, values = store
        assert path.with_name("llmlog.db-wal").exists()  # the app still has the store open
        assert len(leftovers(path, values)) == len(values)
        result = run("redact", "--db", str(path), "--yes")
        assert result.exit_code == 0, result.output
        assert result.stdout == (
            f"scrubbed 12 of 13 interactions and 12 of 12 feedback records in {path}: "
            "180 values (EMAIL 84, CREDIT_CARD 24, IBAN 24, IP_ADDRESS 12, OPENAI_KEY 12, "
            "PHONE 12, US_SSN 12)\n"
        )
        assert result.stderr == ""
        assert leftovers(path, values) == []

    def test_search_verify_and_stats_still_work(self, store: tuple[Path, list[str]]) -> None:
        """The full-text index follows the new text; verify finds the store consistent."""
        path, _ = store
        assert run("--db", str(path), "search", "jane").stdout.count("\n") == 12
        assert run("redact", "--db", str(path), "--yes").exit_code == 0
        assert run("--db", str(path), "search", "jane").stdout == ""
        assert run("--db", str(path), "search", "refund policy").stdout.count("\n") == 12
        assert run("--db", str(path), "search", "EMAIL").stdout.count("\n") == 12
        assert run("--db", str(path), "search", "France").stdout.count("\n") == 1
        verify = run("--db", str(path), "verify")
        assert verify.exit_code == 0, verify.output
        with open_store(path) as st:
            rec = st.search(Query(tags=("vip",)), limit=1).records[0]
            assert rec["user_id"] == "[EMAIL]" and rec["session_id"] == "sess:[EMAIL]"
            assert rec["tags"] == ["vip", "owner:[EMAIL]"]
            assert rec["metadata"] == {
                "ssn": "[US_SSN]",
                "ip": "[IP_ADDRESS]",
                "n": rec["metadata"]["n"],
            }
            assert rec["redaction"]["counts"]["EMAIL"] == 6
            assert st.count(Query(user_id="[EMAIL]")) == 12
            assert {r.group: r.count for r in st.stats(by="tag")} == {
                "vip": 12,
                "owner:[EMAIL]": 12,
                "geo": 1,
            }
            fb = st.feedback(rec["request_id"])[0]
            assert fb["comment"] == "the key [OPENAI_KEY] leaked, ask [EMAIL]"

    def test_idempotent(self, store: tuple[Path, list[str]]) -> None:
        """A second scrub finds nothing to change."""
        path, _ = store
        assert run("redact", "--db", str(path), "--yes").exit_code == 0
        again = run("redact", "--db", str(path), "--yes")
        assert again.exit_code == 0
        assert again.stdout == (
            f"nothing to scrub in {path}: 13 interaction(s) and 12 "
            "feedback record(s) are clean under the current rules\n"
        )

    def test_dry_run_changes_nothing(self, store: tuple[Path, list[str]]) -> None:
        """--dry-run reports what would change and writes nothing."""
        path, values = store
        with open_store(path) as st:
            before = [orjson.dumps(r) for r in st.iter_records()]
        result = run("redact", "--db", str(path), "--dry-run")
        assert result.exit_code == 0
        assert result.stdout.startswith("would scrub 12 of 13 interactions and 12 of 12 ")
        with open_store(path) as st:
            assert [orjson.dumps(r) for r in st.iter_records()] == before
        assert len(leftovers(path, values)) == len(values)

    def test_global_db_and_env(
        self, store: tuple[Path, list[str]], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """--db without a value scrubs the store of the global --db, or of LLMLOG_DB."""
        path, _ = store
        dry = run("--db", str(path), "redact", "--db", "--dry-run")
        assert dry.exit_code == 0 and dry.stdout.startswith("would scrub 12 of 13")
        monkeypatch.setenv("LLMLOG_DB", str(path))
        assert run("redact", "--db", "--yes").stdout.startswith("scrubbed 12 of 13")

    def test_rules_and_operators_apply(self, store: tuple[Path, list[str]]) -> None:
        """The command's rules, deny-terms, allow-list and operators are used on the store."""
        path, _ = store
        result = run(
            "redact",
            "--db",
            str(path),
            "--yes",
            "--deny",
            "refund policy",
            "--allow",
            email(3),
            "-o",
            "EMAIL=mask",
        )
        assert "(DENY_TERM 9600, EMAIL 77, " in result.stdout
        with open_store(path) as st:
            texts = orjson.dumps(list(st.iter_records())).decode()
        assert "refund policy" not in texts and "[DENY_TERM]" in texts
        assert email(3) in texts and "j***@corp.com" in texts

    def test_refuses_without_confirmation(self, store: tuple[Path, list[str]]) -> None:
        """Without --yes and no terminal to ask on, nothing is changed."""
        path, values = store
        result = run("redact", "--db", str(path))
        assert result.exit_code == 1
        assert result.stderr.startswith("Error: refusing to rewrite the 13 interaction(s) in ")
        assert result.stderr.count("\n") == 1
        assert len(leftovers(path, values)) == len(values)

    def test_busy_log_is_reported_then_purged(
        self, store: tuple[Path, list[str]], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A reader holding an old snapshot keeps the WAL; the next run, once it is gone, purges."""
        import sqlite3

        from llmlog.store.sqlite import maintain as _sqlite

        monkeypatch.setattr(_sqlite, "CHECKPOINT_WAIT_MS", 20)
        path, values = store
        reader = sqlite3.connect(path)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM interactions").fetchone()
        try:
            result = run("redact", "--db", str(path), "--yes")
        finally:
            reader.rollback()
            reader.close()
        assert result.exit_code == 0
        assert result.stderr.startswith(f"note: another connection kept {path}'s write-ahead")
        again = run("redact", "--db", str(path), "--yes")
        assert again.stdout.startswith("nothing to scrub") and again.stderr == ""
        assert leftovers(path, values) == []

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["redact", "x.jsonl", "--db", "s.db"], "Error: give FILE to redact a file, or --db"),
            (["redact", "--dry-run"], "Error: --dry-run and --yes apply to scrubbing a store"),
            (["redact", "--db", "missing.db", "--yes"], "Error: no llmlog store at missing.db"),
        ],
    )
    def test_usage_errors(self, args: list[str], message: str) -> None:
        """Misuse is a one-line error naming the problem, exit code 1."""
        result = run(*args)
        assert result.exit_code == 1
        assert result.stderr.startswith(message) and result.stderr.count("\n") == 1


class TestRewrite:
    """``SQLiteStore.rewrite`` while other connections write and delete."""

    def test_records_written_meanwhile_are_rewritten(self, tmp_path: Path) -> None:
        """Interactions logged after the rewrite started are reached by a later batch."""
        path = tmp_path / "llmlog.db"
        llmlog.configure(db=str(path), redact=False)
        fill(path, 4)
        written: list[str] = []

        def more(n: int) -> None:
            if not written:
                written.extend(fill(path, 3, start=100))

        with open_store(path) as st:
            result = st.rewrite(scrubber(), batch_size=2, progress=more)
        assert written and result.interactions == 9 and result.changed == 7
        assert leftovers(path, written) == []

    def test_rows_changed_or_deleted_meanwhile(self, tmp_path: Path) -> None:
        """A row deleted after it was read is skipped; one changed is transformed anew."""
        path = tmp_path / "llmlog.db"
        llmlog.configure(db=str(path), redact=False)
        fill(path, 3)
        llmlog.log_interaction(
            [{"role": "user", "content": f"old {email(7)}"}],
            None,
            model="gpt-4o",
            timestamp=1000.0,
            tags=[f"owner:{email(7)}"],
        )
        llmlog.shutdown()
        calls: list[int] = []
        redact = scrubber()

        def transform(rec: dict[str, Any]) -> dict[str, Any] | None:
            calls.append(1)
            if len(calls) == 1:  # while the batch is being transformed...
                with open_store(path) as pruner:  # ...another process prunes the old record
                    assert pruner.prune(2000.0).interactions == 1
                with open_store(path) as rewriter:  # ...and another one rewrites a record
                    assert rewriter.rewrite(swap).changed == 1
            return redact(rec)

        def swap(rec: dict[str, Any]) -> dict[str, Any] | None:
            data = orjson.dumps(rec).decode()
            if email(1) not in data:
                return None
            return orjson.loads(data.replace(email(1), "late.value@corp.com"))

        with open_store(path) as st:
            result = st.rewrite(transform, batch_size=10)
            report = st.verify()
            assert report.ok, report.checks
        assert result.interactions == 5 and result.changed == 3  # the old one is gone
        assert len(calls) == 5 + 1 + 3  # the rewritten record was transformed again
        data = raw_bytes(path)
        assert b"late.value@corp.com" not in data and email(1).encode() not in data

    def test_concurrent_writer_keeps_the_store_consistent(self, tmp_path: Path) -> None:
        """A writer thread logging during the rewrite leaves index, tags and rollups in step."""
        path = tmp_path / "llmlog.db"
        llmlog.configure(db=str(path), redact=False, flush_interval=0.01, batch_size=4)
        fill(path, 6)
        stop = threading.Event()

        def writer() -> None:
            i = 200
            while not stop.is_set() and i < 400:
                fill(path, 1, start=i)
                i += 1

        t = threading.Thread(target=writer)
        t.start()
        try:
            with open_store(path) as st:
                first = st.rewrite(scrubber(), batch_size=3)
        finally:
            stop.set()
            t.join()
        with open_store(path) as st:
            st.rewrite(scrubber(), batch_size=50)
            report = st.verify()
            assert report.ok, report.checks
            assert first.changed >= 6

    def test_old_versions_zeroed_without_secure_delete_default(self, tmp_path: Path) -> None:
        """Old versions are zeroed even where SQLite does not do it by default."""
        path = tmp_path / "llmlog.db"
        llmlog.configure(db=str(path), redact=False)
        values = fill(path, 3)
        llmlog.shutdown()
        with SQLiteStore(path) as st:
            st._db.execute("PRAGMA secure_delete = OFF")  # as in builds without SECURE_DELETE
            st.rewrite(scrubber())
            assert st._db.execute("PRAGMA secure_delete").fetchone()[0] == 0  # restored
        assert leftovers(path, values) == []

    def test_bad_batch_size(self, tmp_path: Path) -> None:
        """batch_size must be positive."""
        path = tmp_path / "llmlog.db"
        llmlog.configure(db=str(path), redact=False)
        fill(path, 1)
        with open_store(path) as st, pytest.raises(ValueError, match="batch_size"):
            st.rewrite(scrubber(), batch_size=0)
