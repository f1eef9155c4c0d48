"""Token families (``API_KEY``) and named credential values (``CREDENTIAL``).

Positives are real-format tokens (random bodies in each provider's documented
format); negatives are what sits next to them in code, config and docs: placeholders,
types, variables, calls, references and words that merely contain a credential name.
"""

from __future__ import annotations

import base64
import random
import string

import pytest

from llmlog.redact import redact_text

_R = random.Random(20261206)
ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"


def rnd(n: int, alphabet: str = ALNUM) -> str:
    return "".join(_R.choice(alphabet) for _ in range(n))


TOKENS = [
    ("GitLab personal", "glpat-" + rnd(20)),
    ("GitLab deploy", "gldt-" + rnd(20)),
    ("GitLab runner", "glrt-" + rnd(20)),
    ("Hugging Face", "hf_" + rnd(34, string.ascii_letters)),
    ("Hugging Face org", "api_org_" + rnd(34, string.ascii_letters)),
    ("npm", "npm_" + rnd(36)),
    ("SendGrid", "SG." + rnd(22) + "." + rnd(43)),
    ("PyPI", "pypi-AgEIcHlwaS5vcmc" + rnd(70)),
    ("Shopify", "shpat_" + rnd(32, HEX)),
    ("Twilio", "SK" + rnd(32, HEX)),
    ("Mailgun", "key-" + rnd(32, HEX)),
    ("Mailchimp", rnd(32, HEX) + "-us12"),
    ("DigitalOcean", "dop_v1_" + rnd(64, HEX)),
    ("Databricks", "dapi" + rnd(32, HEX)),
    ("Doppler", "dp.pt." + rnd(43)),
    ("Linear", "lin_api_" + rnd(40)),
    ("Notion", "ntn_" + rnd(46)),
    ("Postman", "PMAK-" + rnd(24, HEX) + "-" + rnd(34, HEX)),
    ("New Relic", "NRAK-" + rnd(27, string.ascii_uppercase + string.digits)),
    ("Sentry", "sntryu_" + rnd(64, HEX)),
    ("Grafana", "glsa_" + rnd(32) + "_" + rnd(8, HEX)),
    ("Vault", "hvs." + rnd(95)),
    ("age", "AGE-SECRET-KEY-1" + rnd(58, "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L")),
    ("Telegram", "1234567890:AA" + rnd(33)),
    ("Square", "sq0atp-" + rnd(22)),
    ("Square EAAA", "EAAA" + rnd(60)),
    ("Replicate", "r8_" + rnd(37)),
    ("Groq", "gsk_" + rnd(52)),
    ("Perplexity", "pplx-" + rnd(48)),
    ("xAI", "xai-" + rnd(80)),
    ("Atlassian", "ATATT3" + rnd(186)),
    ("Google OAuth", "GOCSPX-" + rnd(28)),
    ("Slack webhook", "https://hooks.slack.com/services/T0123ABCD/B0123ABCD/" + rnd(24)),
    ("Discord webhook", "https://discord.com/api/webhooks/123456789012345678/" + rnd(68)),
]


@pytest.mark.parametrize(("family", "token"), TOKENS, ids=[f for f, _ in TOKENS])
def test_token_family_found(family: str, token: str) -> None:
    for text in (f"{family} token: {token}", f'{{"key": "{token}"}}', f"export X={token}\n"):
        out = redact_text(text)
        assert token not in out and "[API_KEY]" in out, (family, out)


def test_azure_account_key_value() -> None:
    key = rnd(86, ALNUM + "+/") + "=="
    text = f"DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={key};EndpointSuffix=core"
    out = redact_text(text)
    assert key not in out and "AccountName=acme" in out


@pytest.mark.parametrize(
    "text",
    [
        "glpat-xxxxxxxxxxxxxxxxxxxx",
        "hf_YOUR_TOKEN_HERE_XXXXXXXXXXXXXXXXXXXX",
        "npm_" + "a" * 36,
        "the key-value store",
        "SG.example.placeholder",
        "see https://hooks.slack.com/services/ for webhooks",
        "dapi is not a token",
        "SKU SK-1234",
    ],
)
def test_token_negatives(text: str) -> None:
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("password: hunter2", "hunter2"),
        ('{"password": "correct horse"}', "correct"),
        ("DB_PASSWORD=Tr0ub4dor&3", "Tr0ub4dor"),
        ("mysql://?pwd=s3cr3tpass", "s3cr3tpass"),
        ('client_secret = "q8Zk2LmN4pR7sT1vX9wY3bC6"', "q8Zk2LmN4pR7sT1vX9wY3bC6"),
        ("api_key: a8F3kL9zQ2mX7vB1nR5tY0wP", "a8F3kL9zQ2mX7vB1nR5tY0wP"),
        ("X-API-Key: 9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c", "9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c"),
        ("access_token => 'Zm9vYmFyYmF6cXV4MTIzNDU2'", "Zm9vYmFyYmF6cXV4MTIzNDU2"),
        (
            "Authorization: Basic " + base64.b64encode(b"admin:s3cr3t!").decode(),
            base64.b64encode(b"admin:s3cr3t!").decode(),
        ),
    ],
)
def test_credential_assignment_found(text: str, value: str) -> None:
    out = redact_text(text)
    assert value not in out and "[CREDENTIAL]" in out, out


@pytest.mark.parametrize(
    "text",
    [
        "password: str",
        "password = get_password()",
        "password=${DB_PASSWORD}",
        "password: DB_PASSWORD",
        'password: "****"',
        "password=settings.db_password",
        "password = user_password",
        "api_key=YOUR_API_KEY",
        "api_key: <your key>",
        "token: true",
        "secret: null",
        "the tokenizer: gpt2",
        "secret_sauce = 'ketchup'",
        "Reset your password: click the link below",
        "token_count=1234",
        "Authorization: Basic realm",
    ],
)
def test_credential_negatives(text: str) -> None:
    assert redact_text(text) == text


def test_kubernetes_secret_values() -> None:
    doc = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\n"
        "data:\n  username: YWRtaW4=\n  password: MWYyZDFlMmU2N2Rm\n"
        "stringData:\n  token: plain-text-value\n---\nkind: ConfigMap\n"
    )
    out = redact_text(doc)
    for v in ("YWRtaW4=", "MWYyZDFlMmU2N2Rm", "plain-text-value"):
        assert v not in out
    assert "name: db" in out and "kind: ConfigMap" in out and "type: Opaque" in out


def test_configmap_data_is_left_alone() -> None:
    doc = "apiVersion: v1\nkind: ConfigMap\ndata:\n  log_level: debug\n  region: eu-west-1\n"
    assert redact_text(doc) == doc


def test_ten_thousand_assignments_in_one_text() -> None:
    """10,000 credential assignments in one text: every one is found (the time curve is
    in ``bench/redaction.py``)."""
    out = redact_text("password: hunter2\n" * 10_000)
    assert out.count("[CREDENTIAL]") == 10_000 and "hunter2" not in out


def _with_checksum(random30: str) -> str:
    """A GitHub/npm token body: 30 characters and their CRC32 in six base62 digits."""
    import zlib

    digits = string.digits + string.ascii_uppercase + string.ascii_lowercase
    n = zlib.crc32(random30.encode())
    tail = ""
    for _ in range(6):
        n, r = divmod(n, 62)
        tail = digits[r] + tail
    return random30 + tail


def test_base62_checksum_validator() -> None:
    from llmlog.redact.validators import base62_crc32_ok

    for _ in range(200):
        body = _with_checksum(rnd(30))
        assert base62_crc32_ok(body)
        broken = body[:-1] + ("A" if body[-1] != "A" else "B")
        assert not base62_crc32_ok(broken)
    assert not base62_crc32_ok("short")
    assert not base62_crc32_ok("x" * 35 + "-")


@pytest.mark.parametrize("prefix", ["ghp_", "gho_", "ghs_", "npm_"])
def test_checksum_valid_tokens_are_taken_whatever_they_look_like(prefix: str) -> None:
    """A real token can hold a placeholder word ("here", "fake") by chance: about one in
    50,000 (each 4-letter word at any of 33 offsets of 36 base62 characters). Its checksum
    says it is real. The same body with a broken checksum is left, as any token-shaped text
    with such a word is."""
    body = _with_checksum("here" + rnd(26))
    assert redact_text(f"token {prefix}{body} ok") in (
        "token [GITHUB_TOKEN] ok",
        "token [API_KEY] ok",
    )
    broken = body[:30] + ("000000" if body[30:] != "000000" else "000001")
    assert prefix + broken in redact_text(f"token {prefix}{broken} ok")
