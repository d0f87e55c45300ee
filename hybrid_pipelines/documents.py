"""Reading an inbox of documents into records, with every unreadable input quarantined.

A document is one text with a content-derived id, its language, its arrival date (the
daily partition) and an optional sensitivity label. A file that cannot be read, or a
record inside it that is malformed, becomes a `QuarantinedRecord` naming the file, the
line and the reason; nothing is dropped silently.
"""

import csv
import email
import email.policy
import hashlib
import io
import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path

logger = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".eml", ".json", ".jsonl", ".csv")
TEXT_FIELDS = ("text", "full_text", "note_text", "body", "content", "message", "Example")
LABEL_FIELDS = ("label", "sensitive", "sensitivity", "Type")
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_DOCUMENT_CHARS = 200_000

POSITIVE_LABELS = {"1", "true", "yes", "positive", "sensitive"}
NEGATIVE_LABELS = {"0", "false", "no", "negative", "not_sensitive", "public"}


@dataclass(frozen=True)
class Document:
    doc_id: str
    text: str
    language: str
    arrival_date: str
    source_file: str
    source_line: int
    label: bool | None

    def as_record(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class QuarantinedRecord:
    source_file: str
    source_line: int
    reason: str
    content_sha256: str
    arrival_date: str

    def as_record(self) -> dict:
        return asdict(self)

    @property
    def kind(self) -> str:
        """The reason without its particulars (column, offset, hint), for counting."""
        return re.split(r" at column| \(|;|:", self.reason, maxsplit=1)[0].strip()


def document_id(text: str) -> str:
    """Stable id from the normalised content: the same text always gets the same id."""
    normalised = " ".join(text.split())
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()[:24]


def arrival_date(path: Path) -> str:
    """The daily partition of a file: a YYYY-MM-DD parent folder if present, else its mtime."""
    for parent in path.parents:
        try:
            return date.fromisoformat(parent.name).isoformat()
        except ValueError:
            continue
    return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).date().isoformat()


def inbox_files(inbox: Path) -> list[Path]:
    """Every regular file under the inbox, in a stable order, hidden files excluded."""
    return sorted(
        path
        for path in inbox.rglob("*")
        if path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(inbox).parts)
    )


def parse_label(value: object) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    normalised = str(value).strip().lower()
    if normalised in POSITIVE_LABELS:
        return True
    if normalised in NEGATIVE_LABELS:
        return False
    raise ValueError(
        f"unknown label value (expected one of {sorted(POSITIVE_LABELS)} "
        f"or {sorted(NEGATIVE_LABELS)})"
    )


@dataclass(frozen=True)
class _RawRecord:
    line: int
    text: str
    label: bool | None


class RecordError(ValueError):
    """A malformed record inside an otherwise readable file."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


def _pick_text(record: dict, line: int) -> str:
    for field in TEXT_FIELDS:
        value = record.get(field)
        if isinstance(value, str):
            return value
    raise RecordError(line, f"no text field (looked for {', '.join(TEXT_FIELDS)})")


def _pick_label(record: dict, line: int) -> bool | None:
    for field in LABEL_FIELDS:
        if field in record:
            try:
                return parse_label(record[field])
            except ValueError as error:
                raise RecordError(line, f"field {field!r}: {error}") from None
    return None


def _records_from_json_objects(
    objects: Iterable[tuple[int, object]],
) -> Iterator[_RawRecord | RecordError]:
    for line, item in objects:
        if not isinstance(item, dict):
            yield RecordError(line, f"expected a JSON object, found {type(item).__name__}")
            continue
        try:
            yield _RawRecord(line, _pick_text(item, line), _pick_label(item, line))
        except RecordError as error:
            yield error


def _parse_jsonl(content: str) -> Iterator[_RawRecord | RecordError]:
    for line, raw_line in enumerate(content.splitlines(), start=1):
        if not raw_line.strip():
            continue
        try:
            item = json.loads(raw_line)
        except json.JSONDecodeError as error:
            yield RecordError(line, f"malformed JSON at column {error.colno}: {error.msg}")
            continue
        yield from _records_from_json_objects([(line, item)])


def _parse_json(content: str) -> Iterator[_RawRecord | RecordError]:
    try:
        parsed = json.loads(content)
    except json.JSONDecodeError as error:
        yield RecordError(error.lineno, f"malformed JSON at column {error.colno}: {error.msg}")
        return
    items = parsed if isinstance(parsed, list) else [parsed]
    # Record numbers stand in for lines inside a JSON array: they identify the record.
    yield from _records_from_json_objects(enumerate(items, start=1))


def _parse_csv(content: str) -> Iterator[_RawRecord | RecordError]:
    reader = csv.DictReader(io.StringIO(content, newline=""))
    header = reader.fieldnames or []
    text_column = next((field for field in TEXT_FIELDS if field in header), None)
    if text_column is None:
        yield RecordError(1, f"no text column in the header (looked for {', '.join(TEXT_FIELDS)})")
        return
    label_column = next((field for field in LABEL_FIELDS if field in header), None)

    for row in reader:
        line = reader.line_num
        if None in row or any(value is None for value in row.values()):
            yield RecordError(
                line, f"row has a different number of fields than the header ({len(header)})"
            )
            continue
        try:
            label = parse_label(row[label_column]) if label_column else None
        except ValueError as error:
            yield RecordError(line, f"column {label_column!r}: {error}")
            continue
        yield _RawRecord(line, row[text_column], label)


def _parse_email(content: str) -> Iterator[_RawRecord | RecordError]:
    message = email.message_from_string(content, policy=email.policy.default)
    headers = [
        f"{name}: {message[name]}" for name in ("From", "To", "Cc", "Subject") if message[name]
    ]
    body_part = message.get_body(preferencelist=("plain", "html"))
    body = body_part.get_content() if body_part is not None else ""
    yield _RawRecord(1, "\n".join([*headers, "", body]).strip(), None)


PARSERS = {
    ".txt": lambda content: iter([_RawRecord(1, content, None)]),
    ".md": lambda content: iter([_RawRecord(1, content, None)]),
    ".eml": _parse_email,
    ".json": _parse_json,
    ".jsonl": _parse_jsonl,
    ".csv": _parse_csv,
}


def read_file(
    path: Path, inbox: Path, detect_language
) -> tuple[list[Document], list[QuarantinedRecord]]:
    """Documents and quarantined records of one inbox file; never raises on bad content."""
    relative = path.relative_to(inbox).as_posix()
    partition = arrival_date(path)
    documents: list[Document] = []
    quarantined: list[QuarantinedRecord] = []

    def hold(line: int, reason: str, payload: bytes) -> None:
        digest = hashlib.sha256(payload).hexdigest()
        quarantined.append(QuarantinedRecord(relative, line, reason, digest, partition))

    raw = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix not in PARSERS:
        hold(
            0,
            f"unsupported file type {suffix or '(none)'}; supported: "
            f"{', '.join(SUPPORTED_SUFFIXES)}",
            raw,
        )
        return documents, quarantined
    if not raw.strip():
        hold(0, "empty file", raw)
        return documents, quarantined
    if len(raw) > MAX_FILE_BYTES:
        hold(0, f"file larger than {MAX_FILE_BYTES} bytes; split it", raw)
        return documents, quarantined
    if b"\x00" in raw[:8192]:
        hold(0, "binary content (NUL bytes)", raw)
        return documents, quarantined
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        hold(0, f"not valid UTF-8 (byte offset {error.start}); re-encode the file", raw)
        return documents, quarantined

    for item in PARSERS[suffix](content):
        if isinstance(item, RecordError):
            hold(item.line, item.reason, raw)
            continue
        text = item.text.strip()
        if not text:
            hold(item.line, "empty text", text.encode())
            continue
        if len(text) > MAX_DOCUMENT_CHARS:
            hold(item.line, f"text longer than {MAX_DOCUMENT_CHARS} characters", text.encode())
            continue
        documents.append(
            Document(
                doc_id=document_id(text),
                text=text,
                language=detect_language(text),
                arrival_date=partition,
                source_file=relative,
                source_line=item.line,
                label=item.label,
            )
        )

    return documents, quarantined


def read_inbox(
    inbox: Path, partitions: set[str] | None, detect_language
) -> tuple[list[Document], list[QuarantinedRecord]]:
    """All documents of the inbox whose arrival date is in `partitions` (all when None)."""
    documents: list[Document] = []
    quarantined: list[QuarantinedRecord] = []
    seen_ids: set[str] = set()

    for path in inbox_files(inbox):
        if partitions is not None and arrival_date(path) not in partitions:
            continue
        file_documents, file_quarantined = read_file(path, inbox, detect_language)
        quarantined.extend(file_quarantined)
        for document in file_documents:
            if document.doc_id in seen_ids:
                continue
            seen_ids.add(document.doc_id)
            documents.append(document)

    logger.info("read %d documents, quarantined %d records", len(documents), len(quarantined))
    return documents, quarantined
