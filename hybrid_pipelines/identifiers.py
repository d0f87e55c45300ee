"""Strict patterns for direct identifiers, with their checksums.

Used by the egress gate as a second, independent scan of everything about to leave the
perimeter, and by the tests that search the cloud store. Tokens written by the
pseudonymizer (`<TYPE_hex>`) never match.
"""

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass

from hybrid_pipelines.anonymize import PSEUDONYM_PATTERN
from hybrid_pipelines.checksums import iban_valid, luhn_valid, nir_valid


def ssn_valid(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return (
        len(digits) == 9
        and area not in {"000", "666"}
        and not area.startswith("9")
        and group != "00"
        and serial != "0000"
    )


def ip_valid(candidate: str) -> bool:
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Identifier:
    start: int
    end: int
    kind: str


# Any local@domain, even without a dot in the domain (OCR and typing drop it).
EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)*")
CARD = re.compile(r"(?<!\d)(?:\d[ \-]?){12,18}\d(?!\d)")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]){10,30}\b")
SSN = re.compile(r"(?<!\d)\d{3}[- ]\d{2}[- ]\d{4}(?!\d)")
NIR = re.compile(r"(?<![\dA-Z])[12378](?:[\s.\-]?[\dAB]){12}[\s.\-]?\d{2}(?!\d)")
# Deliberately broad (any run of 8 digits or more, spaced out or glued to words or
# not): the gate prefers holding back an order number to letting a phone number through.
PHONE = re.compile(r"(?<!\d)(?:\+\s?)?(?:\(\d{1,4}\)[\s.\-]?)?\d(?:[\s.\-]{0,3}\d){5,}(?!\d)")
IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
IPV6 = re.compile(r"(?<![\w:])(?:[0-9a-fA-F]{1,4}:){2,7}[0-9a-fA-F]{1,4}(?![\w:])")
MIN_PHONE_DIGITS = 8
MAX_PHONE_DIGITS = 15


# Calendar dates written with dashes or dots have 8 digits, like the shortest phone numbers.
DATE_SHAPED = re.compile(r"\d{4}[-.]\d{2}[-.]\d{2}|\d{2}[-.]\d{2}[-.]\d{4}")


def _digit_run_kind(match: str) -> str | None:
    """Runs of 8 to 15 digits are phone numbers (dates excepted); longer ones are held as
    long numbers (a spaced-out social security number, an account number), never let
    through."""
    digits = len(re.sub(r"\D", "", match))
    shape = match.strip()
    if digits < MIN_PHONE_DIGITS or DATE_SHAPED.fullmatch(shape) or IPV4.fullmatch(shape):
        return None
    return "PHONE_NUMBER" if digits <= MAX_PHONE_DIGITS else "LONG_NUMBER"


def _when(kind: str, validate):
    return lambda match: kind if validate(match) else None


CHECKS = (
    (EMAIL, lambda match: "EMAIL_ADDRESS"),
    (IBAN, _when("IBAN_CODE", iban_valid)),
    (CARD, _when("CREDIT_CARD", lambda match: luhn_valid(re.sub(r"\D", "", match)))),
    (SSN, _when("US_SSN", ssn_valid)),
    (NIR, _when("FR_NIR", lambda match: nir_valid(match, require_key=True))),
    (IPV4, _when("IP_ADDRESS", ip_valid)),
    (IPV6, _when("IP_ADDRESS", ip_valid)),
    (PHONE, _digit_run_kind),
)


# Content hashes (16+ lowercase hex digits) and UUIDs such as run ids are ours, not
# personal data; without this, a run id like 9c20b6ae-7043-4505-... reads as a phone number.
HEX_DIGEST = re.compile(
    r"\b(?:[0-9a-f]{16,64}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    # Registry stamps and versions: 20261204t153843m679z, v20261204t153843m679z-2d711642.
    r"|v?\d{8}t\d{6}m\d{3}z(?:-[0-9a-f]{8})?)\b",
    re.IGNORECASE,
)


def _blank(match: re.Match) -> str:
    return " " * len(match.group(0))


def find_direct_identifiers(text: str, configured: Sequence[str] = ()) -> list[Identifier]:
    """Every direct identifier in the text that passes its checksum; pseudonyms and hex
    digests are excluded.

    `configured` are strings of the deployment's own configuration, such as a store's URI
    prefix: bucket names and paths often hold an account number or a date, which would read
    as a phone number. They are left out of the scan; the rest of the text is not."""
    for setting in configured:
        if setting:
            text = text.replace(setting, " " * len(setting))
    masked = HEX_DIGEST.sub(_blank, PSEUDONYM_PATTERN.sub(_blank, text))
    found: list[Identifier] = []
    for pattern, classify in CHECKS:
        for match in pattern.finditer(masked):
            kind = classify(match.group(0))
            if kind is not None:
                found.append(Identifier(match.start(), match.end(), kind))
    return found
