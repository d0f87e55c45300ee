"""The egress gate: what may cross to the cloud, decided record by record.

A record crosses only when a second, independent scan of its anonymized text finds no
direct identifier (strict patterns with checksums) and no residual presidio finding of a
direct-identifier type. Records that fail are held back on-prem with the reason.
"""

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from hybrid_pipelines.anonymize import PSEUDONYM_PATTERN
from hybrid_pipelines.identifiers import find_direct_identifiers
from hybrid_pipelines.stores import EgressGateSigner, GateClearance

DIRECT_IDENTIFIER_TYPES = frozenset(
    {
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "CREDIT_CARD",
        "IBAN_CODE",
        "US_SSN",
        "FR_NIR",
        "IP_ADDRESS",
        "US_DRIVER_LICENSE",
        "US_PASSPORT",
        "US_BANK_NUMBER",
    }
)
HOLDOUT_BUCKETS = 5


class EgressRefusedError(RuntimeError):
    """A payload about to leave still carries direct identifiers."""


@dataclass(frozen=True)
class GateVerdict:
    cleared: bool
    residual_types: tuple[str, ...]


def _token_spans(text: str) -> list[tuple[int, int]]:
    return [(match.start(), match.end()) for match in PSEUDONYM_PATTERN.finditer(text)]


def judge(anonymized_text: str, residual_findings: Sequence[dict]) -> GateVerdict:
    """Whether one anonymized text may cross, and the entity types that stop it."""
    tokens = _token_spans(anonymized_text)
    types = {identifier.kind for identifier in find_direct_identifiers(anonymized_text)}
    for finding in residual_findings:
        inside_token = any(
            start <= finding["start"] and finding["end"] <= end for start, end in tokens
        )
        if finding["type"] in DIRECT_IDENTIFIER_TYPES and not inside_token:
            types.add(finding["type"])
    return GateVerdict(not types, tuple(sorted(types)))


def split_of(doc_id: str) -> str:
    """`holdout` for one document in five (by id, stable across runs): it stays on-prem as
    evaluation data and never joins the training corpus."""
    bucket = int(hashlib.sha256(doc_id.encode()).hexdigest()[:8], 16) % HOLDOUT_BUCKETS
    return "holdout" if bucket == 0 else "train"


def clear_payload(signer: EgressGateSigner, asset: str, payload: bytes) -> GateClearance:
    """A clearance for this exact payload, after one last strict scan of the whole of it."""
    identifiers = find_direct_identifiers(payload.decode("utf-8"))
    if identifiers:
        counts = Counter(identifier.kind for identifier in identifiers)
        raise EgressRefusedError(
            f"egress of {asset!r} refused: payload carries direct identifiers {dict(counts)}"
        )
    return signer.clear(asset, payload)
