"""Searches a folder for personal data: labelled values verbatim, and direct identifiers.

Used after a run to prove what the cloud store and the Dagster home do not hold.
"""

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from hybrid_pipelines.identifiers import find_direct_identifiers

# Labels of direct identifiers in the shared evaluation sets (English and French names).
LABELLED_DIRECT_TYPES = frozenset(
    {
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "CREDIT_CARD",
        "IBAN_CODE",
        "US_SSN",
        "IP_ADDRESS",
        "MAIL",
        "TEL",
        "SECU",
    }
)
# Labelled values shorter than this (titles such as "Mr", a two-digit day) occur by chance
# in any file; longer ones would only be there if the pipeline put them there.
MIN_SEARCHED_CHARS = 5


def _blobs(root: Path) -> list[bytes]:
    return [path.read_bytes() for path in root.rglob("*") if path.is_file()]


def _occurs(value: str, blob: bytes) -> bool:
    """The value as a whole token: 'signe' in 'assigned' or '93000' inside an epoch
    timestamp are coincidences, not leaks."""
    encoded = value.encode()
    if encoded not in blob:
        return False
    pattern = rb"(?<![A-Za-z0-9])" + re.escape(encoded) + rb"(?![A-Za-z0-9])"
    return re.search(pattern, blob) is not None


def values_found(root: Path, values: Iterable[str]) -> list[str]:
    """The labelled values (of searchable length) that occur as whole tokens in any file
    under root."""
    blobs = _blobs(root)
    searched = {value.strip() for value in values if len(value.strip()) >= MIN_SEARCHED_CHARS}
    return sorted(value for value in searched if any(_occurs(value, blob) for blob in blobs))


def identifiers_found(root: Path, configured: Sequence[str] = ()) -> Counter[str]:
    """Direct identifiers per type in the text files under root (binary files are skipped:
    model weights hold numbers); `configured` as in `find_direct_identifiers`."""
    counts: Counter[str] = Counter()
    for blob in _blobs(root):
        try:
            text = blob.decode("utf-8")
        except UnicodeDecodeError:
            continue
        counts.update(identifier.kind for identifier in find_direct_identifiers(text, configured))
    return counts
