"""User rules and the default operator: the rules file, configure(), env vars and the CLI."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import llmlog
from llmlog.cli import cli
from llmlog.redact import RedactRules, load_rules
from llmlog.testing import capture_records

TOML = """\
deny = ["Project Falcon"]
allow = ["ops@corp.com"]
disable = ["IP_ADDRESS"]

[rules]
EMPLOYEE_ID = 'EMP-\\d{6}'
TICKET = ['TCK-\\d+', 'INC\\d{7}']

[operators]
CREDIT_CARD = "mask"
EMPLOYEE_ID = "pseudonym"
"""
TEXT = (
    "EMP-123456 on Project Falcon (TCK-42, INC0001234) mailed ops@corp.com and "
    "jane@corp.com from 10.1.2.3 with card 4242 4242 4242 4242"
)


def toml_file(tmp_path: Path, text: str = TOML, name: str = "redact.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def output_of(records: list[dict[str, object]]) -> object:
    return records[0]["parsed_output"]


def log_text(text: str = TEXT) -> None:
    llmlog.log_interaction(
        [{"role": "user", "content": "hi"}], None, parsed_output=text, model="gpt-4o"
    )


class TestLoadRules:
    def test_toml(self, tmp_path: Path) -> None:
        """A TOML file gives rules (one or several regexes per type), terms and operators."""
        r = load_rules(toml_file(tmp_path))
        assert r.rules == (
            ("EMPLOYEE_ID", r"EMP-\d{6}"),
            ("TICKET", r"TCK-\d+"),
            ("TICKET", r"INC\d{7}"),
        )
        assert r.deny == ("Project Falcon",) and r.allow == ("ops@corp.com",)
        assert r.disable == ("IP_ADDRESS",)
        assert dict(r.operators) == {"CREDIT_CARD": "mask", "EMPLOYEE_ID": "pseudonym"}
        assert r.source == str(tmp_path / "redact.toml")
        red = r.redactor(pseudonym_key="k").redact_text(TEXT)
        assert red.startswith("[EMPLOYEE_ID:") and "[DENY_TERM] ([TICKET], [TICKET])" in red
        assert red.endswith("ops@corp.com and [EMAIL] from 10.1.2.3 with card **** **** **** 4242")

    def test_json_and_dict_give_the_same(self, tmp_path: Path) -> None:
        """The JSON form and a dict of the same shape load to the same rules."""
        data = {
            "rules": {"EMPLOYEE_ID": r"EMP-\d{6}"},
            "deny": ["Project Falcon"],
            "operators": {"EMAIL": "mask"},
        }
        p = tmp_path / "rules.json"
        p.write_text(json.dumps(data))
        from_file = load_rules(p)
        from_dict = load_rules(data)
        assert from_file.rules == from_dict.rules and from_file.deny == from_dict.deny
        assert from_file.operators == from_dict.operators and from_dict.source == "<dict>"
        assert load_rules(from_dict) is from_dict

    def test_other_extension_sniffed(self, tmp_path: Path) -> None:
        """A file named otherwise is JSON when it starts with '{', else TOML."""
        assert load_rules(toml_file(tmp_path, '{"deny": ["x y"]}', "rules.conf")).deny == ("x y",)
        assert load_rules(toml_file(tmp_path, 'deny = ["x y"]', "rules.conf")).deny == ("x y",)

    @pytest.mark.parametrize(
        ("text", "problem"),
        [
            ("deny = [", "not valid TOML (Invalid value (at end of document))"),
            (
                "denies = ['x']",
                "unknown key 'denies' (known: rules, deny, allow, operators, disable, enable)",
            ),
            ("deny = 'x'\nallow = [1]", "allow: expected a list of non-empty strings"),
            ("[rules]\nEMP = '('", "rule EMP: bad regex '(': missing ), unterminated subpattern"),
            ("[rules]\nEMP = 'x*'", "rule EMP: the regex 'x*' matches the empty string"),
            ("[rules]\nemp = 'x'", "rule type must be an upper-case name like 'EMPLOYEE_ID'"),
            ("[rules]\nEMP = []", "rules.EMP: expected a regex or a list of regexes"),
            (
                "[operators]\nEMAIL = 'hide'",
                "operators.EMAIL: unknown operator 'hide'; use one of "
                "placeholder, pseudonym, mask, drop",
            ),
            ("[operators]\nNOPE = 'mask'", "operators: unknown type 'NOPE'"),
            (
                "[operators]\n'*' = 'mask'",
                "operators: '*' is not a type here; the default operator is LLMLOG_REDACT_OPERATOR",
            ),
            ("disable = ['EMAILS']", "disable: unknown type 'EMAILS'; built-in types: EMAIL, "),
            ("rules = 3", "rules: expected a table of TYPE = regex"),
        ],
    )
    def test_errors_name_the_file_and_the_problem(
        self, tmp_path: Path, text: str, problem: str
    ) -> None:
        """Every problem is one line: the file, then what is wrong with it."""
        p = toml_file(tmp_path, text)
        with pytest.raises(ValueError) as info:
            load_rules(p)
        msg = str(info.value)
        assert msg.startswith(f"{p}: {problem}"), msg
        assert "\n" not in msg

    def test_missing_file_and_bad_json(self, tmp_path: Path) -> None:
        """An unreadable file or invalid JSON is named with the reason."""
        with pytest.raises(ValueError, match=r"nope\.toml: cannot read the rules file \(No such"):
            load_rules(tmp_path / "nope.toml")
        with pytest.raises(ValueError, match=r"bad\.json: not valid JSON \("):
            load_rules(toml_file(tmp_path, "{deny: 1}", "bad.json"))
        with pytest.raises(ValueError, match=r"top\.json: expected a table of rules, deny"):
            load_rules(toml_file(tmp_path, "[1]", "top.json"))

    def test_dict_may_carry_functions(self) -> None:
        """From code, an operator may be a function; the error prefix is 'redact_rules'."""
        r = load_rules({"operators": {"EMAIL": lambda v, t: v.split("@")[1]}})
        assert r.redactor().redact_text("mail jane@corp.com") == "mail corp.com"
        with pytest.raises(ValueError, match=r"^redact_rules: deny: expected a list"):
            load_rules({"deny": [""]})


class TestSettings:
    def test_configure_with_a_file(self, tmp_path: Path) -> None:
        """configure(redact_rules=path) applies the file to every record."""
        with capture_records(redact_rules=str(toml_file(tmp_path))) as records:
            log_text()
        out = output_of(records)
        assert isinstance(out, str) and out.startswith("[EMPLOYEE_ID:")
        assert "[DENY_TERM]" in out and "ops@corp.com" in out and "10.1.2.3" in out
        assert records[0]["redaction"]["counts"]["TICKET"] == 2

    def test_configure_with_a_dict(self) -> None:
        """configure() also takes the rules as a dict."""
        with capture_records(redact_rules={"deny": ["Project Falcon"]}) as records:
            log_text()
        assert "[DENY_TERM]" in str(output_of(records))
        assert isinstance(llmlog.get_settings().redact_rules, RedactRules) is False  # reset

    def test_env_var(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """LLMLOG_REDACT_RULES and LLMLOG_REDACT_OPERATOR are read like every other option."""
        monkeypatch.setenv("LLMLOG_REDACT_RULES", str(toml_file(tmp_path)))
        monkeypatch.setenv("LLMLOG_REDACT_OPERATOR", "pseudonym")
        with capture_records() as records:
            log_text()
            settings = llmlog.get_settings()
        assert isinstance(settings.redact_rules, RedactRules)
        assert settings.redact_operator == "pseudonym"
        out = str(output_of(records))
        assert "[EMAIL:" in out and "**** **** **** 4242" in out  # per-type operator wins

    @pytest.mark.parametrize("op", ["mask", "pseudonym", "placeholder"])
    def test_default_operator(self, op: str) -> None:
        """redact_operator replaces the placeholder for every type."""
        expected = {"mask": "mail j***@corp.com", "placeholder": "mail [EMAIL]"}
        with capture_records(redact_operator=op) as records:
            log_text("mail jane@corp.com")
        out = str(output_of(records))
        assert out == expected[op] if op in expected else out.startswith("mail [EMAIL:")

    def test_bad_values_fail_configure(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """configure() raises one line naming the option or variable, the file and the problem."""
        bad = toml_file(tmp_path, "[rules]\nEMP = '('")
        with pytest.raises(
            ValueError,
            match=r"^configure\(redact_rules=...\): .*redact\.toml: "
            r"rule EMP: bad regex",
        ):
            llmlog.configure(db="off", redact_rules=str(bad))
        with pytest.raises(
            ValueError,
            match=r"^configure\(redact_operator=...\): expected one "
            r"of placeholder, pseudonym, mask, got 'drop'",
        ):
            llmlog.configure(db="off", redact_operator="drop")
        monkeypatch.setenv("LLMLOG_REDACT_RULES", str(bad))
        with pytest.raises(ValueError, match=r"^LLMLOG_REDACT_RULES: .*redact\.toml: rule EMP"):
            llmlog.configure(db="off")

    def test_bad_env_file_warns_when_implicit(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Without configure(), a bad rules file warns and the built-in rules still apply."""
        monkeypatch.setenv("LLMLOG_REDACT_RULES", str(tmp_path / "missing.toml"))
        with caplog.at_level(logging.WARNING, logger="llmlog"):
            settings = llmlog.get_settings()
        assert settings.redact_rules is None
        assert "LLMLOG_REDACT_RULES: " in caplog.text and "missing.toml: cannot read" in caplog.text

    def test_empty_env_means_none(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """An empty LLMLOG_REDACT_RULES means no rules file."""
        monkeypatch.setenv("LLMLOG_REDACT_RULES", "")
        assert llmlog.configure(db="off").redact_rules is None


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


class TestCommand:
    def test_redact_uses_the_settings(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """`llmlog redact` applies LLMLOG_REDACT_RULES and LLMLOG_REDACT_OPERATOR."""
        monkeypatch.setenv("LLMLOG_REDACT_RULES", str(toml_file(tmp_path)))
        monkeypatch.setenv("LLMLOG_REDACT_OPERATOR", "mask")
        monkeypatch.setenv("LLMLOG_SAMPLE_RATE", "not a number")  # unrelated: ignored here
        result = run("redact", input="EMP-123456 and jane@corp.com, Project Falcon\n")
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith("[EMPLOYEE_ID:")
        assert result.stdout.endswith(" and j***@corp.com, **************\n")  # masked too

    def test_rules_file_option_and_flags_add_up(self, tmp_path: Path) -> None:
        """--rules-file names a file; --deny and -o add to and override it."""
        p = toml_file(tmp_path)
        result = run(
            "redact",
            "--rules-file",
            str(p),
            "--deny",
            "Orion",
            "-o",
            "EMPLOYEE_ID=placeholder",
            input="EMP-123456 Orion Project Falcon\n",
        )
        assert result.stdout == "[EMPLOYEE_ID] [DENY_TERM] [DENY_TERM]\n"

    @pytest.mark.parametrize("how", ["env", "option"])
    def test_bad_rules_file_is_an_error(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
    ) -> None:
        """A bad rules file stops the command with one line; nothing is redacted without it."""
        bad = toml_file(tmp_path, "deny = 'x'\nrules = 3")
        args = ["redact"]
        if how == "env":
            monkeypatch.setenv("LLMLOG_REDACT_RULES", str(bad))
        else:
            args += ["--rules-file", str(bad)]
        result = run(*args, input="jane@corp.com\n")
        assert result.exit_code == 1 and result.stdout == ""
        assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
        assert f"{bad}: rules: expected a table of TYPE = regex" in result.stderr

    def test_scrub_applies_the_settings(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A rule added after the fact reaches the stored records through `redact --db`."""
        db = tmp_path / "llmlog.db"
        llmlog.configure(db=str(db))  # built-in redaction only
        log_text()
        llmlog.shutdown()
        assert b"EMP-123456" in (
            db.read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("llmlog.db-wal"))
        )
        monkeypatch.setenv("LLMLOG_REDACT_RULES", str(toml_file(tmp_path)))
        result = run("redact", "--db", str(db), "--yes")
        assert result.exit_code == 0, result.output
        assert "4 values (TICKET 2, DENY_TERM 1, EMPLOYEE_ID 1)" in result.stdout
        assert b"EMP-123456" not in db.read_bytes()
        assert run("redact", "--db", str(db), "--yes").stdout.startswith("nothing to scrub")
