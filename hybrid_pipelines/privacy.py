"""Keeps personal data out of the metadata plane: logs, asset metadata and check results.

The Dagster instance may live in the cloud, so what it stores carries counts, hashes and
entity types only. Two guards enforce it: a logging filter that replaces any direct
identifier in a log message by its type, and a metadata check that refuses free text and
identifiers in what an asset or check reports.
"""

import logging
from collections.abc import Iterator, Mapping, Sequence

from hybrid_pipelines.charts import CHART_KEY_SUFFIX
from hybrid_pipelines.identifiers import find_direct_identifiers

MAX_METADATA_TEXT_CHARS = 240


class MetadataLeakError(ValueError):
    """Asset or check metadata that could carry personal data."""


def redact(text: str) -> str:
    """The text with every direct identifier replaced by `[TYPE]`."""
    identifiers = sorted(find_direct_identifiers(text), key=lambda item: item.start)
    pieces, position = [], 0
    for identifier in identifiers:
        if identifier.start < position:
            continue
        pieces.append(text[position : identifier.start])
        pieces.append(f"[{identifier.kind}]")
        position = identifier.end
    pieces.append(text[position:])
    return "".join(pieces)


class RedactingFilter(logging.Filter):
    """Rewrites log records whose message carries a direct identifier."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def install_log_redaction(*loggers: logging.Logger) -> None:
    """Add the filter to the given loggers and to every handler of the root logger."""
    redacting = RedactingFilter()
    for logger in (*loggers, logging.getLogger()):
        if not any(isinstance(item, RedactingFilter) for item in logger.filters):
            logger.addFilter(redacting)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(item, RedactingFilter) for item in handler.filters):
            handler.addFilter(redacting)


# Where the payload of a wrapper object (Dagster metadata values, table records) lives.
WRAPPED_ATTRIBUTES = ("records", "data", "text", "md_str", "value")


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
        return
    for attribute in WRAPPED_ATTRIBUTES:
        inner = getattr(value, attribute, None)
        if inner is not None and inner is not value:
            yield from _strings(inner)
            return
    if isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _strings(item)


def check_metadata(
    owner: str, metadata: Mapping[str, object], configured: Sequence[str] = ()
) -> dict:
    """Return the metadata unchanged, or raise if a value is free text or an identifier.

    Metadata values may be numbers, short labels (types, reasons, versions, URIs) and
    tables of those; a long string or anything that looks like a direct identifier is
    refused, naming the key and the identifier type, never the value. Keys ending in
    `_chart` hold charts built by `hybrid_pipelines.charts` and may be long; they are still
    scanned for identifiers.

    `configured` as in `find_direct_identifiers`: a store's URI prefix, say, is the
    deployment's configuration and is left out of the identifier scan."""
    for key, value in metadata.items():
        for text in _strings(value):
            if len(text) > MAX_METADATA_TEXT_CHARS and not key.endswith(CHART_KEY_SUFFIX):
                raise MetadataLeakError(
                    f"metadata {key!r} of {owner} holds a {len(text)}-character string; "
                    f"report counts and types instead of text"
                )
            kinds = sorted({item.kind for item in find_direct_identifiers(text, configured)})
            if kinds:
                raise MetadataLeakError(
                    f"metadata {key!r} of {owner} carries a direct identifier of type {kinds}"
                )
    return dict(metadata)
