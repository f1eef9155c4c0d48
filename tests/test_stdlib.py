"""The stdlib logging bridge: records out on the llmlog logger, and in from your loggers."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import logging.handlers
import queue

import orjson
from helpers import MESSAGES, RESPONSE, db_records

import llmlog


class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class TestLoggerOut:
    def test_records_carry_the_structured_record(self) -> None:
        """Each interaction is a LogRecord on 'llmlog' with the record dict and a summary msg."""
        h = ListHandler()
        lg = logging.getLogger("llmlog")
        lg.addHandler(h)
        lg.setLevel(logging.INFO)
        rid = llmlog.log_interaction(MESSAGES, RESPONSE, model="gpt-4o-mini")
        llmlog.flush(10)
        [record] = [r for r in h.records if hasattr(r, "llmlog")]
        assert record.llmlog["request_id"] == rid
        assert record.getMessage().startswith("openai gpt-4o-mini ok")
        assert rid in record.getMessage()

    def test_nothing_is_built_when_nobody_listens(self) -> None:
        """At the default WARNING level the logger sink emits nothing."""
        h = ListHandler()
        logging.getLogger("llmlog").addHandler(h)
        llmlog.log_interaction(MESSAGES, RESPONSE)
        llmlog.flush(10)
        assert h.records == []

    def test_dictconfig_json_formatter_writes_the_record(self, tmp_path) -> None:
        """dictConfig with llmlog.JsonFormatter writes each record as one JSON line."""
        path = tmp_path / "llm.log"
        logging.config.dictConfig(
            {
                "version": 1,
                "disable_existing_loggers": False,
                "formatters": {"llm": {"()": "llmlog.JsonFormatter"}},
                "handlers": {
                    "f": {"class": "logging.FileHandler", "filename": str(path), "formatter": "llm"}
                },
                "loggers": {"llmlog": {"level": "INFO", "handlers": ["f"], "propagate": False}},
            }
        )
        rid = llmlog.log_interaction(MESSAGES, RESPONSE)
        llmlog.flush(10)
        for h in logging.getLogger("llmlog").handlers:
            h.flush()
        [line] = path.read_text().splitlines()
        rec = json.loads(line)
        assert rec == db_records()[0]
        assert rec["request_id"] == rid and rec["event"] == "llm_interaction"

    def test_behind_queue_handler(self) -> None:
        """The record survives QueueHandler.prepare and a QueueListener on another thread."""
        q: queue.Queue = queue.Queue()
        out = io.StringIO()
        target = logging.StreamHandler(out)
        target.setFormatter(llmlog.JsonFormatter())
        listener = logging.handlers.QueueListener(q, target)
        lg = logging.getLogger("llmlog")
        lg.addHandler(logging.handlers.QueueHandler(q))
        lg.setLevel(logging.INFO)
        listener.start()
        rid = llmlog.log_interaction(MESSAGES, RESPONSE)
        llmlog.flush(10)
        listener.stop()
        assert json.loads(out.getvalue().splitlines()[0])["request_id"] == rid

    def test_json_formatter_plain_records(self) -> None:
        """Non-llmlog records become a small JSON object too."""
        rec = logging.makeLogRecord(
            {"msg": "hello %s", "args": ("x",), "levelname": "INFO", "name": "app"}
        )
        out = json.loads(llmlog.JsonFormatter().format(rec))
        assert out["message"] == "hello x" and out["event"] == "log"

    def test_console_formatter_line(self) -> None:
        """The console formatter shows a readable one-liner with prompt and answer."""
        h = ListHandler()
        lg = logging.getLogger("llmlog")
        lg.addHandler(h)
        lg.setLevel(logging.INFO)
        llmlog.log_interaction(MESSAGES, RESPONSE)
        llmlog.flush(10)
        line = llmlog.ConsoleFormatter(color=False).format(h.records[0])
        assert "user: What is the capital of France?" in line
        assert "-> The capital of France is Paris." in line


class TestHandlerIn:
    def test_classic_snippet_logger_is_captured(self) -> None:
        """The classic snippet's logger.info(json.dumps({...})) lands in the store via LLMLogHandler."""
        app = logging.getLogger("myapp")
        app.setLevel(logging.INFO)
        app.addHandler(llmlog.LLMLogHandler())
        app.info(
            json.dumps(
                {
                    "event": "llm_interaction",
                    "request_id": "req-1",
                    "model": "gpt-3.5-turbo",
                    "prompt_messages": MESSAGES,
                    "llm_raw_response": RESPONSE,
                    "parsed_output": "Paris",
                    "timestamp": 1700000000.0,
                }
            )
        )
        app.info("an unrelated line")
        llmlog.flush(10)
        [rec] = db_records()
        assert rec["request_id"] == "req-1"
        assert rec["timestamp"] == 1700000000.0
        assert rec["parsed_output"] == "Paris"

    def test_llmlog_records_are_not_fed_back(self) -> None:
        """LLMLogHandler on the root logger ignores llmlog's own records (no loop)."""
        root = logging.getLogger()
        root.addHandler(llmlog.LLMLogHandler())
        logging.getLogger("llmlog").setLevel(logging.INFO)
        llmlog.log_interaction(MESSAGES, RESPONSE)
        llmlog.flush(10)
        llmlog.flush(10)
        assert len(db_records()) == 1

    def test_record_attribute_fields(self) -> None:
        """A LogRecord carrying record fields as extra={'llmlog': {...}} is logged."""
        app = logging.getLogger("myapp2")
        app.setLevel(logging.INFO)
        app.addHandler(llmlog.LLMLogHandler())
        app.info(
            "call",
            extra={"llmlog": {"model": "m", "prompt_messages": MESSAGES, "parsed_output": "ok"}},
        )
        llmlog.flush(10)
        assert orjson.loads(orjson.dumps(db_records()[0]["parsed_output"])) == "ok"
