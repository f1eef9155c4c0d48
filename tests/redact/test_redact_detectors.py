# ruff: noqa: RUF001
"""Detectors: what each built-in type finds (positives) and must leave alone (negatives)."""

from __future__ import annotations

import pytest

from llmlog.redact import BUILTIN_TYPES, Redactor, redact_text

R = Redactor()


def found(text: str) -> list[tuple[str, str]]:
    return [(text[s:e], t) for s, e, t in R.find(text)]


def assert_found(text: str, value: str, type_: str) -> None:
    hits = found(text)
    assert any(t == type_ and value in v for v, t in hits), f"{value!r} ({type_}) not in {hits}"
    # nothing of the value is left outside the spans
    out = R.redact_text(text)
    assert value not in out, out


# -- EMAIL ----------------------------------------------------------------------------------------

EMAIL_POS = [
    ("Contact jane.doe@corp.com for access", "jane.doe@corp.com"),
    ("mailto:j.smith+news@mail.acme.co.uk", "j.smith+news@mail.acme.co.uk"),
    ("Author: Jane <jane@globex.de>", "jane@globex.de"),
    ('{"email": "wei.zhang@163.com"}', "wei.zhang@163.com"),
    ("QQ: 12345678@qq.com", "12345678@qq.com"),
    ("JANE.DOE@CORP.COM", "JANE.DOE@CORP.COM"),
    ("/api/users?email=jane%40corp.com&x=1", "jane%40corp.com"),
    ("reach me: jane [at] corp [dot] com", "jane [at] corp [dot] com"),
    ("jane(at)corp(dot)com", "jane(at)corp(dot)com"),
    ("jane {at} corp.io", "jane {at} corp.io"),
    ("JANE [AT] CORP [DOT] COM", "JANE [AT] CORP [DOT] COM"),
    ("jane&#64;corp.com", "jane&#64;corp.com"),
    ("请联系jane@corp.com谢谢", "jane@corp.com"),
    ("メールはyuki@example.co.jpまで", "yuki@example.co.jp"),
    ("hans@müller-bau.de", "hans@müller-bau.de"),
    ("ivan@пример.рф", "ivan@пример.рф"),
    ("user＠corp.com", "user＠corp.com"),
    ("Email me at jane@corp.com.", "jane@corp.com"),
    ("jane@corp.com.Thanks", "jane@corp.com"),
    ("x,jane_doe@dept.corp.internal,y", "jane_doe@dept.corp.internal"),
    ("ssh jane@mail.corp.com", "jane@mail.corp.com"),
    ("line\\njane@corp.com", "jane@corp.com"),
    ("Write to sean.o'brien@corp.ie please", "sean.o'brien@corp.ie"),
]

EMAIL_NEG = [
    "git@github.com:org/repo.git",
    "git clone git@gitlab.com:group/sub/project.git",
    "ssh://git@github.com/acme/infra.git",
    "npm i pkg@1.2.3 and @scope/pkg@^2.0.1 and lodash@4.17.21",
    "docker pull nginx@sha256:0123456789abcdef",
    "@app.route('/v1') and @property and @jane_doe",
    "img icon@2x.png logo@3x.jpg",
    "y = x@self.weight + b; out = a@W.T",
    "user@localhost and root@127.0.0.1",
    "jane@laptop:~$ ls -la",
    "root@ip-10-0-0-1.ec2.internal:~$ uptime",
    "a@b",
    "email = [at] the [dot] thing",
    "name='o'brien' and email='x'",
    "what] happened (format) [that]",
]


@pytest.mark.parametrize(("text", "value"), EMAIL_POS)
def test_email_found(text: str, value: str) -> None:
    """Every spelling of an address is found whole."""
    assert_found(text, value, "EMAIL")


@pytest.mark.parametrize("text", EMAIL_NEG)
def test_email_negatives(text: str) -> None:
    """Remotes, package specs, decorators, file names and code are not addresses."""
    assert found(text) == []


# -- PHONE ----------------------------------------------------------------------------------------

PHONE_POS = [
    ("Call (415) 555-0132 today", "(415) 555-0132"),
    ("415-555-0132", "415-555-0132"),
    ("at 415.555.0132.", "415.555.0132"),
    ("+1 415 555 0132", "+1 415 555 0132"),
    ("+1 (415) 555-0132", "+1 (415) 555-0132"),
    ("toll free 1-800-555-0199", "1-800-555-0199"),
    ("+14155550132", "+14155550132"),
    ("London +44 20 7946 0958", "+44 20 7946 0958"),
    ("020 7946 0958", "020 7946 0958"),
    ("+44 (0)20 7946 0958", "+44 (0)20 7946 0958"),
    ("07700 900123", "07700 900123"),
    ("Berlin +49 30 901820", "+49 30 901820"),
    ("Tel. 030/12345678", "030/12345678"),
    ("0151 23456789", "0151 23456789"),
    ("Paris 01 42 68 53 00", "01 42 68 53 00"),
    ("+33 6 12 34 56 78", "+33 6 12 34 56 78"),
    ("06.12.34.56.78", "06.12.34.56.78"),
    ("東京03-1234-5678まで", "03-1234-5678"),
    ("携帯：090-1234-5678", "090-1234-5678"),
    ("+81 90 1234 5678", "+81 90 1234 5678"),
    ("手机13800138000", "13800138000"),
    ("138 0013 8000", "138 0013 8000"),
    ("+86 10 1234 5678", "+86 10 1234 5678"),
    ("+91 98765 43210", "+91 98765 43210"),
    ("098765 43210", "098765 43210"),
    ("(02) 9374 4000", "(02) 9374 4000"),
    ("0412 345 678", "0412 345 678"),
    ("(11) 91234-5678", "(11) 91234-5678"),
    ("+7 (495) 123-45-67", "+7 (495) 123-45-67"),
    ("Teléfono: 912 345 678", "912 345 678"),
    ("010-1234-5678", "010-1234-5678"),
    ("+65 6123 4567", "+65 6123 4567"),
    ("0044 20 7946 0958", "0044 20 7946 0958"),
    ("my phone number is 4155550132", "4155550132"),
    ("4155550132 (cell)", "4155550132"),
    ('"phone": "4155550132"', "4155550132"),
    ("tel:+14155550132", "+14155550132"),
    ("a,415-555-0132,b", "415-555-0132"),
    ("415-555-0132 / 415-555-0199", "415-555-0199"),
    # labels: on the line above, or a label word that names a phone only with its colon
    ("Personal Info:\nPhone:\n3105067826\n", "3105067826"),
    ("Desk: 2288192358", "2288192358"),
    ("Office:\t0115 496 0265", "0115 496 0265"),
    # escaped line breaks, as in JSON strings and templates
    ("VT 18024\\nFax: 24157552\\n", "24157552"),
    ("CO 50701\\n+1-975-845-0588x4320 fax", "+1-975-845-0588x4320"),
]

PHONE_NEG = [
    "timestamp 1712345678",
    '"created": 1712345678123',
    "pi is 3.141592653589793",
    "0.000123456789 and 12345.6789012",
    "on 2024-03-15 10:30:00 and 15.03.2024 and 03/15/2024",
    "Order #112-4589321-7785412",
    "order ORD-20240315-88123, invoice INV-2024-000123",
    "tracking number 1Z999AA10123456784",
    "USPS 9400 1000 0000 0000 0000 00",
    "ISBN 978-3-16-148410-0 and ISBN 0-306-40615-2",
    "ISBN-13: 9780306406157",
    "2^31 - 1 = 2147483647",
    "12345 * 6789 = 83810205",
    "between 1000 and 9999",
    "1 234 567 tokens",
    "$1,234,567.89 and €1 234 567,89",
    "ZIP 94105-1234",
    "lat/long 48.856613, 2.352222",
    "version 10.0.19045.3930",
    "account id 123456789012",
    "customer 5101360846",
    "ticket #48213377",
    "matrix 12 5 88 3 41 7 90 12 5 88 3 41",
    "uuid 550e8400-e29b-41d4-a716-446655440000",
    "sha 9fceb02d0ae598e95dc970b74767f19372d61af8",
    "hash 1234567abcdef",
    "doi:10.1000/1234567",
    "arn:aws:iam::123456789012:role/deploy",
    "PID 1234567",
    "Order:\n3105067826",
    "Total:\n3105067826",
    "Home: 2024-03-15",
    "version:\n10.0.19045.3930",
    "a+4155550132",
]


@pytest.mark.parametrize(("text", "value"), PHONE_POS)
def test_phone_found(text: str, value: str) -> None:
    """Numbers of many countries in their usual written forms are found."""
    assert_found(text, value, "PHONE")


@pytest.mark.parametrize("text", PHONE_NEG)
def test_phone_negatives(text: str) -> None:
    """Timestamps, decimals, dates, ids, ISBNs and arithmetic are not phone numbers."""
    assert found(text) == []


# -- CREDIT_CARD ----------------------------------------------------------------------------------

CARD_POS = [
    ("card 4242 4242 4242 4242 exp 12/27", "4242 4242 4242 4242"),
    ("4111-1111-1111-1111", "4111-1111-1111-1111"),
    ("paid with 4111111111111111", "4111111111111111"),
    ("amex 3782 822463 10005", "3782 822463 10005"),
    ("378282246310005", "378282246310005"),
    ("mc 5555 5555 5555 4444", "5555 5555 5555 4444"),
    ("mc2 2223 0031 2200 3222", "2223 0031 2200 3222"),
    ("discover 6011 1111 1111 1117", "6011 1111 1111 1117"),
    ("jcb 3530 1113 3330 0000", "3530 1113 3330 0000"),
    ("diners 3056 930902 5904", "3056 930902 5904"),
    ("4111 1111 1111 1111 12/25 123", "4111 1111 1111 1111"),
    ("我的信用卡号是4242424242424242，有效期", "4242424242424242"),
    ('{"cc": "4012888888881881"}', "4012888888881881"),
    ("card no. 4111.1111.1111.1111", "4111.1111.1111.1111"),
]

CARD_NEG = [
    "4242 4242 4242 4241",
    "4111-1111-1111-1112",
    "1234 5678 9012 3456",
    "0000 0000 0000 0000",
    "order 4000123412341234",
    "ts 1712345678901",
    "SKU 4006381333931",
    "9400 1187 3809 0810 5203 35",
]


@pytest.mark.parametrize(("text", "value"), CARD_POS)
def test_card_found(text: str, value: str) -> None:
    """Luhn-valid numbers of known networks, grouped or not, are cards."""
    assert_found(text, value, "CREDIT_CARD")


@pytest.mark.parametrize("text", CARD_NEG)
def test_card_negatives(text: str) -> None:
    """Invalid Luhn, unknown issuers, order numbers and parts of longer runs are not cards."""
    assert [t for _, t in found(text)] == []


# -- IBAN -----------------------------------------------------------------------------------------

IBAN_POS = [
    ("IBAN DE89 3704 0044 0532 0130 00.", "DE89 3704 0044 0532 0130 00"),
    ("DE89370400440532013000", "DE89370400440532013000"),
    ("GB29 NWBK 6016 1331 9268 19", "GB29 NWBK 6016 1331 9268 19"),
    ("GB29NWBK60161331926819", "GB29NWBK60161331926819"),
    ("FR14 2004 1010 0505 0001 3M02 606", "FR14 2004 1010 0505 0001 3M02 606"),
    ("NL91ABNA0417164300", "NL91ABNA0417164300"),
    ("CH93 0076 2011 6238 5295 7", "CH93 0076 2011 6238 5295 7"),
    ("Bankverbindung:DE89370400440532013000。", "DE89370400440532013000"),
    ("IBAN DE89-3704-0044-0532-0130-00", "DE89-3704-0044-0532-0130-00"),
]

IBAN_NEG = [
    "DE89 3704 0044 0532 0130 01",
    "DE8937040044053201300",
    "XX89370400440532013000",
    "CVE-2024-12345 and ISO9001",
    "MODEL GB2912345 ver",
]


@pytest.mark.parametrize(("text", "value"), IBAN_POS)
def test_iban_found(text: str, value: str) -> None:
    """IBANs with a valid mod-97 check and the country's length are found."""
    assert_found(text, value, "IBAN")


@pytest.mark.parametrize("text", IBAN_NEG)
def test_iban_negatives(text: str) -> None:
    """A wrong check digit or length is not an IBAN."""
    assert "IBAN" not in [t for _, t in found(text)]


# -- US_SSN ---------------------------------------------------------------------------------------

SSN_POS = [
    ("SSN: 123-45-6789", "123-45-6789"),
    ("ssn 078-05-1121", "078-05-1121"),
    ("Her SSN is 536 22 1942.", "536 22 1942"),
    ("SSN: 536221942", "536221942"),
    ("name,ssn\njane,219-09-9999\n", "219-09-9999"),
]

SSN_NEG = [
    "000-12-3456",
    "666-12-3456",
    "912-34-5678",
    "123-00-4567",
    "123-45-0000",
    "id 536221942",
    "2024-03-15",
]


@pytest.mark.parametrize(("text", "value"), SSN_POS)
def test_ssn_found(text: str, value: str) -> None:
    """SSNs with an issuable area, group and serial are found; bare ones only with 'SSN'."""
    assert_found(text, value, "US_SSN")


@pytest.mark.parametrize("text", SSN_NEG)
def test_ssn_negatives(text: str) -> None:
    """Area 000/666/9xx, group 00, serial 0000, and bare nine digits without context are not."""
    assert "US_SSN" not in [t for _, t in found(text)]


# -- IP_ADDRESS -----------------------------------------------------------------------------------

IP_POS = [
    ("client 203.0.113.5 - -", "203.0.113.5"),
    ("http://10.0.0.12:8080/health", "10.0.0.12"),
    ("ssh ubuntu@52.14.201.7", "52.14.201.7"),
    ("X-Forwarded-For: 192.168.1.10, 172.16.0.4", "172.16.0.4"),
    ("2001:0db8:85a3:0000:0000:8a2e:0370:7334", "2001:0db8:85a3:0000:0000:8a2e:0370:7334"),
    ("2001:db8::8a2e:370:7334", "2001:db8::8a2e:370:7334"),
    ("iface fe80::1ff:fe23:4567:890a%eth0 up", "fe80::1ff:fe23:4567:890a%eth0"),
    ("fe80::a00:27ff:fe4e:66a1", "fe80::a00:27ff:fe4e:66a1"),
    ("::ffff:192.0.2.128", "::ffff:192.0.2.128"),
    ("http://[2001:db8::1]:8080/", "2001:db8::1"),
    ("dns 2001:4860:4860::8888", "2001:4860:4860::8888"),
    ("服务器地址是10.1.2.3，端口8080", "10.1.2.3"),
]

IP_NEG = [
    "127.0.0.1 and 0.0.0.0:8000 and ::1 and ::",
    "netmask 255.255.255.0",
    "version 1.2.3.4 and v10.0.0.1",
    "Chrome/120.0.0.0 Safari",
    "OID 2.5.4.3 and 1.2.840.113549.1.1.11",
    "01.02.03.04",
    "std::vector<int> v; Foo::Bar::baz(); a::before",
    "a[1::2] arr[::3] x[10::100]",
    "MAC 00:1a:2b:3c:4d:5e at 10:30:45",
    "dead::beef and cafe::babe",
    "999.1.1.1",
]


@pytest.mark.parametrize(("text", "value"), IP_POS)
def test_ip_found(text: str, value: str) -> None:
    """IPv4 and IPv6 (full, compressed, link-local with zone, mapped) are found."""
    assert_found(text, value, "IP_ADDRESS")


@pytest.mark.parametrize("text", IP_NEG)
def test_ip_negatives(text: str) -> None:
    """Loopback, netmasks, versions, OIDs, C++/Rust paths, slices, MACs and times are not IPs."""
    assert found(text) == []


# -- secrets --------------------------------------------------------------------------------------

KEY48 = "Ab3dE5fG7hI9jK1lM2nO4pQ6rS8tU0vWx1Y2z3A4b5C6d7E8"
SECRET_POS = [
    ("gitlab glpat-Xk9fL2mQ8vR4tZ1wY7pA ok", "glpat-Xk9fL2mQ8vR4tZ1wY7pA", "API_KEY"),
    ("db:\n  password: hunter2\n", "hunter2", "CREDENTIAL"),
    (f"key: sk-{KEY48}", f"sk-{KEY48}", "OPENAI_KEY"),
    (f"OPENAI_API_KEY=sk-proj-{KEY48}_-xYz", f"sk-proj-{KEY48}_-xYz", "OPENAI_KEY"),
    (f"\\nsk-svcacct-{KEY48}", f"sk-svcacct-{KEY48}", "OPENAI_KEY"),
    (f"sk-ant-api03-{KEY48}{KEY48}AA", f"sk-ant-api03-{KEY48}{KEY48}AA", "ANTHROPIC_KEY"),
    ("aws_access_key_id = AKIA2E0A8F3B244C9986", "AKIA2E0A8F3B244C9986", "AWS_ACCESS_KEY"),
    ("ASIAY34FZKBOKMUTVV7A", "ASIAY34FZKBOKMUTVV7A", "AWS_ACCESS_KEY"),
    (
        "AKIA2E0A8F3B244C9986\naws_secret_access_key = 9drTJvcXLB89EXAMPLELB8923FB892xMFI",
        "AKIA2E0A8F3B244C9986",
        "AWS_ACCESS_KEY",
    ),
    (
        "id=AKIA2E0A8F3B244C9986 secret=wJalrXUtnFEMI/K7MDENG/bPxRfiCYzz9KEY12ab",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzz9KEY12ab",
        "AWS_SECRET_KEY",
    ),
    (
        '"SecretAccessKey": "Zx9Lk2Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0LzXcVbN"',
        "Zx9Lk2Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0LzXcVbN",
        "AWS_SECRET_KEY",
    ),
    (
        "token ghp_16C7e42F292c6912E7710c838347Ae178B4a",
        "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
        "GITHUB_TOKEN",
    ),
    (
        "github_pat_11ABCDEFG0123456789abc_" + "x9Y8z7W6v5U4t3S2r1Q0" * 3,
        "github_pat_11ABCDEFG0123456789abc_" + "x9Y8z7W6v5U4t3S2r1Q0" * 3,
        "GITHUB_TOKEN",
    ),
    (
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "SLACK_TOKEN",
    ),
    ("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "STRIPE_KEY"),
    ("rk_live_51H8xYzAbCdEfGhIjKlMnOp", "rk_live_51H8xYzAbCdEfGhIjKlMnOp", "STRIPE_KEY"),
    (
        "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
        "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
        "GOOGLE_API_KEY",
    ),
    (
        "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
        "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
        "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        "JWT",
    ),
    (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6\n"
        "-----END RSA PRIVATE KEY-----",
        "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6",
        "PRIVATE_KEY",
    ),
    (
        '"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n'
        '-----END PRIVATE KEY-----\\n"',
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
        "PRIVATE_KEY",
    ),
    (
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n"
        "(truncated)",
        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ",
        "PRIVATE_KEY",
    ),
    (
        "Authorization: Bearer 9f8e7d6c5b4a39281706f5e4d3c2b1a0",
        "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
        "BEARER_TOKEN",
    ),
    (
        "-H 'authorization: bearer ya29.a0AfH6SMBx7Gq1kL0pQ'",
        "ya29.a0AfH6SMBx7Gq1kL0pQ",
        "BEARER_TOKEN",
    ),
    ("postgres://admin:s3cr3t-Pw@db.prod.internal:5432/app", "admin:s3cr3t-Pw", "URL_CREDENTIALS"),
    ("redis://:p4ssw0rd@cache:6379/0", "p4ssw0rd", "URL_CREDENTIALS"),
    ("https://deploy:ghs_tok3n@github.com/org/repo.git", "deploy:ghs_tok3n", "URL_CREDENTIALS"),
    ("mongodb+srv://jane:p@ss@cluster0.ab1cd.mongodb.net/test", "jane:p@ss", "URL_CREDENTIALS"),
]

SECRET_NEG = [
    "sk-... and sk-xxxx and sk-proj-... and sk-ant-...",
    "sk-XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "sk-your-api-key-here",
    "OPENAI_API_KEY=<your key>",
    "task-manager-service-v2-production-east",
    "AKIAIOSFODNN7EXAMPLE and wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "xoxb-your-token-goes-here",
    "pk_live_51H8xYzAbCdEfGhIjKlMnOp",
    "sk_test_XXXXXXXXXXXXXXXXXXXXXXXX",
    "Authorization: Bearer <token>",
    "Authorization: Bearer $TOKEN and Bearer ${API_TOKEN}",
    "-H 'Authorization: Bearer YOUR_ACCESS_TOKEN'",
    "the bearer authentication scheme",
    "postgres://user:password@localhost:5432/db",
    "mysql://root:<password>@db/app and redis://:${REDIS_PASSWORD}@cache",
    "postgresql://USER:PASS@HOST/DB",
    "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1Lf\n"
    "-----END PUBLIC KEY-----",
    "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBa\n"
    "-----END CERTIFICATE-----",
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7vbqajDhA deploy@ci-runner",
    "eyJhbGciOiJub25lIn0 alone",
    "commit 9fceb02d0ae598e95dc970b74767f19372d61af8",
]


@pytest.mark.parametrize(("text", "value", "type_"), SECRET_POS)
def test_secret_found(text: str, value: str, type_: str) -> None:
    """Each kind of key, token and credential is found with its type."""
    assert_found(text, value, type_)


@pytest.mark.parametrize("text", SECRET_NEG)
def test_secret_negatives(text: str) -> None:
    """Placeholders, public keys, certificates, publishable keys and hashes stay."""
    assert found(text) == []


# -- mixed ----------------------------------------------------------------------------------------


def test_every_builtin_type_has_a_positive_case() -> None:
    """The tables above cover every built-in type."""
    covered = {"EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "US_SSN", "IP_ADDRESS"}
    covered |= {t for _, _, t in SECRET_POS}
    assert covered == set(BUILTIN_TYPES)


def test_overlap_takes_the_more_specific_type() -> None:
    """A JWT after 'Bearer' is one JWT span; a URL password is not an e-mail address."""
    jwt = (
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
        "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
    )
    assert [t for _, t in found(f"Authorization: Bearer {jwt}")] == ["JWT"]
    assert [t for _, t in found("postgres://jane:hunter42@db.corp.com/x")] == ["URL_CREDENTIALS"]


def test_json_text_stays_valid_json() -> None:
    """Replacing values inside JSON text never touches quotes or escapes."""
    import json

    text = json.dumps(
        {
            "email": "jane@corp.com",
            "phone": "+44 20 7946 0958",
            "note": "line\ncard 4242 4242 4242 4242",
        }
    )
    out = R.redact_text(text)
    assert json.loads(out) == {
        "email": "[EMAIL]",
        "phone": "[PHONE]",
        "note": "line\ncard [CREDIT_CARD]",
    }


def test_types_filter() -> None:
    """types= limits detection to the listed built-in types."""
    r = Redactor(types=["EMAIL"])
    assert r.redact_text("jane@corp.com +44 20 7946 0958") == "[EMAIL] +44 20 7946 0958"
    with pytest.raises(ValueError, match="unknown redaction type"):
        Redactor(types=["E-MAIL"])


@pytest.mark.parametrize(
    "text",
    [
        "upgrade to 1.2.3.4 now",
        "we upgraded to 4.1.0.2 yesterday",
        "bumped from 1.2.3.4 to 1.2.3.5",
        "installed 2.0.1.3 on every host",
        "Windows v10.0.19045.1 build",
        "OID 1.3.6.1.4.1.311.21.8",
        "uuid 550e8400-e29b-41d4-a716-446655440000",
        "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "trace 4bf92f3577b34da6a3ce929d0e0e4736 span 00f067aa0ba902b7",
        "at 2024-03-05T12:34:56.789Z ts=1709642096123",
        "x-request-id: 0d2f4a6c-8e1b-4c3d-9f5e-7a6b8c9d0e1f",
        "look at this dot com bubble",
        "the file at config dot py",
    ],
)
def test_versions_ids_and_timestamps_are_not_pii(text: str) -> None:
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("write to jane at corp dot com please", "jane at corp dot com"),
        ("JANE.DOE AT ACME DOT CO DOT UK", "JANE.DOE AT ACME DOT CO DOT UK"),
        ("mail: j.smith at mail dot example dot org", "j.smith at mail dot example dot org"),
    ],
)
def test_spelled_out_email(text: str, value: str) -> None:
    out = redact_text(text)
    assert value not in out and "[EMAIL]" in out


@pytest.mark.parametrize(
    ("text", "value", "type_"),
    [
        ("call 001-252-675-5380x18855 now", "001-252-675-5380x18855", "PHONE"),
        ("(415)555-0132 x99 is my desk", "(415)555-0132 x99", "PHONE"),
        ("+1 212-555-0123 ext. 204", "+1 212-555-0123 ext. 204", "PHONE"),
        ("My card 3590793669070971 expires", "3590793669070971", "CREDIT_CARD"),
        ("cc 675909697251 on my e-mail", "675909697251", "CREDIT_CARD"),
    ],
)
def test_extensions_and_cards_with_context(text: str, value: str, type_: str) -> None:
    out = redact_text(text)
    assert value not in out and f"[{type_}]" in out, out


@pytest.mark.parametrize(
    "text", ["order 675909697251 shipped", "card 675909697252 x", "build 12345678x2"]
)
def test_no_card_or_extension_without_reason(text: str) -> None:
    assert redact_text(text) == text
