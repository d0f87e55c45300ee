"""Keyed pseudonymisation with presidio-anonymizer.

Each detected value becomes `<TYPE_xxxxxxxxxx>`, an HMAC-SHA256 of the normalised value
under a key that stays on-prem: the same person gets the same token in every document,
run and backfill, and the token cannot be reversed without the key.
"""

import hashlib
import hmac
import re
from collections.abc import Sequence
from functools import cached_property

from hybrid_pipelines.pii import Finding

TOKEN_HEX_CHARS = 10
PSEUDONYM_PATTERN = re.compile(rf"<([A-Z][A-Z_]*)_([0-9a-f]{{{TOKEN_HEX_CHARS}}})>")
MIN_KEY_BYTES = 16

# Identifiers whose separators carry no meaning: "06 12 34 56 78" and "0612345678" match.
SEPARATOR_INSENSITIVE_TYPES = frozenset(
    {
        "PHONE_NUMBER",
        "CREDIT_CARD",
        "IBAN_CODE",
        "US_SSN",
        "FR_NIR",
        "US_BANK_NUMBER",
        "US_DRIVER_LICENSE",
        "FR_SIRET",
        "FR_SIREN",
        "TEL",
        "SECU",
    }
)


def normalise_value(entity_type: str, value: str) -> str:
    if entity_type in SEPARATOR_INSENSITIVE_TYPES:
        return re.sub(r"[\s.\-/()]", "", value).casefold()
    return " ".join(value.split()).casefold()


class Pseudonymizer:
    """Replaces findings in a text by keyed tokens."""

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(
                f"the pseudonym key must be at least {MIN_KEY_BYTES} bytes; "
                "generate one with `hybrid-pipelines keygen`"
            )
        self._key = key

    def token(self, entity_type: str, value: str) -> str:
        message = f"{entity_type}\x1f{normalise_value(entity_type, value)}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).hexdigest()[:TOKEN_HEX_CHARS]
        return f"<{entity_type}_{digest}>"

    @cached_property
    def _engine(self):
        from presidio_anonymizer import AnonymizerEngine

        return AnonymizerEngine()

    def anonymize(self, text: str, findings: Sequence[Finding]) -> str:
        """The text with every finding replaced by its token."""
        from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

        if not findings:
            return text

        operators = {
            entity_type: OperatorConfig(
                "custom", {"lambda": lambda value, kind=entity_type: self.token(kind, value)}
            )
            for entity_type in {finding.entity_type for finding in findings}
        }
        analyzer_results = [
            RecognizerResult(finding.entity_type, finding.start, finding.end, finding.score)
            for finding in findings
        ]
        # presidio merges same-type findings separated only by spaces into one span by
        # default, which would give three adjacent e-mails a single token.
        return self._engine.anonymize(
            text, analyzer_results, operators, merge_entities_with_spaces=False
        ).text


def type_placeholders(anonymized_text: str) -> str:
    """Tokens reduced to their type (`[PERSON]`): the form the routing model reads."""
    return PSEUDONYM_PATTERN.sub(lambda match: f"[{match.group(1)}]", anonymized_text)
