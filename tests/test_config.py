"""Configuration: explicit options, then LLMLOG_* variables, then defaults."""

from __future__ import annotations

import pytest

import llmlog
from llmlog.config import resolve_settings


class TestResolve:
    def test_defaults(self) -> None:
        """With nothing set, the defaults are the documented ones."""
        s = resolve_settings({}, strict=True, environ={})
        assert (s.db, s.redact, s.durability, s.on_full, s.capture_content) == (
            "llmlog.db",
            True,
            "async",
            "spool",
            "full",
        )

    def test_env_then_explicit(self) -> None:
        """An env var sets a value; an explicit option wins over it."""
        env = {"LLMLOG_DB": "a.db", "LLMLOG_MAX_QUEUE": "50", "LLMLOG_REDACT": "off"}
        s = resolve_settings({}, strict=True, environ=env)
        assert (s.db, s.max_queue, s.redact) == ("a.db", 50, False)
        assert resolve_settings({"db": "b.db"}, strict=True, environ=env).db == "b.db"

    @pytest.mark.parametrize(
        ("env", "message"),
        [
            ({"LLMLOG_MAX_QUEUE": "lots"}, "LLMLOG_MAX_QUEUE: expected an integer"),
            ({"LLMLOG_REDACT": "maybe"}, "LLMLOG_REDACT: expected a boolean"),
            ({"LLMLOG_SAMPLE_RATE": "2"}, "LLMLOG_SAMPLE_RATE: must be between 0 and 1"),
            ({"LLMLOG_DURABILITY": "fsync"}, "LLMLOG_DURABILITY: expected one of async, sync"),
            ({"LLMLOG_DB": ""}, "LLMLOG_DB: must not be empty"),
        ],
    )
    def test_bad_env_value_names_the_variable(self, env: dict, message: str) -> None:
        """configure() rejects a bad env value with an error naming the variable."""
        with pytest.raises(ValueError, match=message):
            resolve_settings({}, strict=True, environ=env)

    def test_bad_env_value_at_log_time_warns_and_uses_default(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Implicit configuration never raises: it warns and uses the default."""
        s = resolve_settings({}, strict=False, environ={"LLMLOG_MAX_QUEUE": "lots"})
        assert s.max_queue == 10_000
        assert "LLMLOG_MAX_QUEUE" in caplog.text

    def test_service_falls_back_to_otel_service_name(self) -> None:
        """The app's service name comes from OTEL_SERVICE_NAME when LLMLOG_SERVICE is unset."""
        assert (
            resolve_settings({}, strict=True, environ={"OTEL_SERVICE_NAME": "shop"}).service
            == "shop"
        )


class TestConfigure:
    def test_unknown_option_is_a_type_error(self) -> None:
        """A misspelt option fails at once, listing the known ones."""
        with pytest.raises(TypeError, match=r"unexpected keyword argument 'jsnol'"):
            llmlog.configure(jsnol="x.jsonl")

    def test_bad_value_is_a_value_error(self) -> None:
        """A bad explicit value fails at configure time, naming the option."""
        with pytest.raises(ValueError, match=r"configure\(on_full=...\)"):
            llmlog.configure(on_full="explode")

    def test_second_call_warns_and_applies(self, caplog: pytest.LogCaptureFixture) -> None:
        """Configuring twice warns, and the second configuration is the one in force."""
        llmlog.configure(db="off", redact=False)
        llmlog.configure(db="other.db", redact=False)
        assert "configure() called again" in caplog.text
        assert llmlog.get_settings().db == "other.db"

    def test_env_db_off_writes_no_store(self, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
        """LLMLOG_DB=off logs to the other sinks only."""
        monkeypatch.setenv("LLMLOG_DB", "off")
        monkeypatch.setenv("LLMLOG_JSONL", "out.jsonl")
        llmlog.log_interaction([{"role": "user", "content": "x"}], None, parsed_output="y")
        llmlog.flush(10)
        assert not (tmp_path / "llmlog.db").exists()
        assert (tmp_path / "out.jsonl").read_text().count("\n") == 1
