"""Validators: the checksums and registries behind the detectors."""

from __future__ import annotations

import pytest

from llmlog.redact.validators import (
    card_issuer_ok,
    country_code_len,
    iban_ok,
    ipv4_ok,
    ipv6_ok,
    jwt_ok,
    looks_random,
    luhn_ok,
    ssn_ok,
    tld_ok,
)


class TestLuhn:
    @pytest.mark.parametrize(
        "digits",
        [
            "4242424242424242",
            "4111111111111111",
            "378282246310005",
            "6011111111111117",
            "79927398713",
            "0",
        ],
    )
    def test_valid(self, digits: str) -> None:
        """Numbers with a correct check digit pass."""
        assert luhn_ok(digits)

    @pytest.mark.parametrize(
        "digits", ["4242424242424241", "4111111111111112", "79927398710", "1234567812345678"]
    )
    def test_invalid(self, digits: str) -> None:
        """A wrong check digit fails."""
        assert not luhn_ok(digits)


class TestIssuer:
    @pytest.mark.parametrize(
        "digits",
        [
            "4242424242424242",
            "5555555555554444",
            "2223003122003222",
            "378282246310005",
            "6011111111111117",
            "3530111333300000",
            "30569309025904",
            "6200000000000005",
            "4222222222222",
        ],
    )
    def test_known_networks(self, digits: str) -> None:
        """Visa, Mastercard (both ranges), Amex, Discover, JCB, Diners, UnionPay."""
        assert card_issuer_ok(digits)

    @pytest.mark.parametrize(
        "digits",
        [
            "1712345678901",
            "9400100000000000",
            "0000000000000000",
            "37828224631000",
            "42424242424242",
        ],
    )
    def test_unknown_or_wrong_length(self, digits: str) -> None:
        """No network starts with 1, 9 or 0; Amex is 15 digits, Visa 13/16/19."""
        assert not card_issuer_ok(digits)


class TestIban:
    @pytest.mark.parametrize(
        "iban",
        [
            "DE89370400440532013000",
            "GB29NWBK60161331926819",
            "FR1420041010050500013M02606",
            "NL91ABNA0417164300",
            "CH9300762011623852957",
            "NO9386011117947",
        ],
    )
    def test_valid(self, iban: str) -> None:
        """Registered length and mod-97 remainder 1."""
        assert iban_ok(iban)

    @pytest.mark.parametrize(
        "iban",
        [
            "DE89370400440532013001",
            "DE8937040044053201300",
            "XX89370400440532013000",
            "DE8937040044053201300!",
            "de89370400440532013000",
        ],
    )
    def test_invalid(self, iban: str) -> None:
        """Wrong check, wrong length, unknown country, bad characters."""
        assert not iban_ok(iban)


@pytest.mark.parametrize(
    ("parts", "ok"),
    [
        (("123", "45", "6789"), True),
        (("001", "01", "0001"), True),
        (("899", "99", "9999"), True),
        (("000", "45", "6789"), False),
        (("666", "45", "6789"), False),
        (("900", "45", "6789"), False),
        (("123", "00", "6789"), False),
        (("123", "45", "0000"), False),
    ],
)
def test_ssn(parts: tuple[str, str, str], ok: bool) -> None:
    """SSA rules: no area 000/666/9xx, no group 00, no serial 0000."""
    assert ssn_ok(*parts) is ok


@pytest.mark.parametrize(
    ("ip", "ok"),
    [
        ("8.8.8.8", True),
        ("10.0.0.1", True),
        ("192.168.1.254", True),
        ("169.254.1.1", True),
        ("127.0.0.1", False),
        ("0.0.0.0", False),
        ("255.255.255.0", False),
        ("256.1.1.1", False),
        ("01.2.3.4", False),
        ("1.2.3", False),
    ],
)
def test_ipv4(ip: str, ok: bool) -> None:
    """Octets up to 255, no leading zeros, nothing that identifies nobody."""
    assert ipv4_ok(ip) is ok


@pytest.mark.parametrize(
    ("ip", "ok"),
    [
        ("2001:db8::1", True),
        ("fe80::1ff:fe23:4567:890a%eth0", True),
        ("::ffff:192.0.2.1", True),
        ("2001:4860:4860::8888", True),
        ("::1", False),
        ("::", False),
        ("1::2", False),
        ("dead::beef", False),
        ("10::100", False),
        ("2001:db8:::1", False),
    ],
)
def test_ipv6(ip: str, ok: bool) -> None:
    """Real addresses pass; loopback, slices and hex words do not."""
    assert ipv6_ok(ip) is ok


@pytest.mark.parametrize(
    ("digits", "n"),
    [
        ("14155550132", 1),
        ("74951234567", 1),
        ("442079460958", 2),
        ("8613800138000", 2),
        ("35312345678", 3),
        ("99912345", 0),
    ],
)
def test_country_code(digits: str, n: int) -> None:
    """ITU calling codes of one, two and three digits."""
    assert country_code_len(digits) == n


@pytest.mark.parametrize(
    ("tld", "ok"),
    [
        ("com", True),
        ("io", True),
        ("de", True),
        ("рф", True),
        ("internal", True),
        ("png", False),
        ("js", False),
        ("weight", False),
        ("T", False),
    ],
)
def test_tld(tld: str, ok: bool) -> None:
    """Country codes, known generic TLDs and IDN TLDs; never a file extension."""
    assert tld_ok(tld) is ok


@pytest.mark.parametrize(
    ("body", "ok"),
    [
        ("Ab3dE5fG7hI9jK1lM2nO4pQ6", True),
        ("4fTq9ZkPz0LmXw2RvYb8NcHs", True),
        ("xxxxxxxxxxxxxxxxxxxxxxxx", False),
        ("your-openai-api-key-here", False),
        ("YOUR_API_KEY_GOES_HERE12", False),
        ("abcdefghijklmnopqrstuvwx", False),
        ("Ab3d", False),
        ("IOSFODNN7EXAMPLE1234", False),
    ],
)
def test_looks_random(body: str, ok: bool) -> None:
    """Generated key material yes; words, repeats and markers no."""
    assert looks_random(body) is ok


def test_jwt_header() -> None:
    """A JWT header decodes to JSON with alg/typ; random base64 does not."""
    assert jwt_ok("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9")
    assert not jwt_ok("eyJub3RoaW5nIjoxfQ")
    assert not jwt_ok("eyJ!!!")
