"""Loaders for labelled evaluation sets: span-annotated texts and sensitivity-labelled messages.

Three formats are understood: a JSON array with `full_text`/`spans`, JSONL with
`note_text`/`entities`, and a DLP CSV with `Example`/`Type`/`Subtype`/`Category`.
"""

import csv
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

DLP_COLUMNS = ("Example", "Type", "Subtype", "Category")


@dataclass(frozen=True)
class GoldSpan:
    """One labelled span; `end` is exclusive."""

    start: int
    end: int
    label: str


@dataclass(frozen=True)
class LabelledText:
    """A text with its gold PII spans."""

    text_id: str
    text: str
    language: str
    spans: list[GoldSpan] = field(default_factory=list)


@dataclass(frozen=True)
class LabelledMessage:
    """A message labelled sensitive or not, with the benchmark's subtype and category."""

    message_id: str
    text: str
    sensitive: bool
    subtype: str
    category: str


def load_labelled(path: str | Path, language: str | None = None) -> list:
    """Load any of the three formats, chosen by extension and then by content.

    Returns `LabelledText` records for span sets and `LabelledMessage` records for a DLP CSV.
    `language` overrides the language guessed for span sets (`fr` for JSONL notes, else `en`).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")

    suffix = path.suffix.lower()
    if suffix == ".csv":
        return load_dlp_csv(path)
    if suffix == ".jsonl":
        return load_notes_jsonl(path, language=language or "fr")
    if suffix == ".json":
        return load_spans_json(path, language=language or "en")

    with path.open(encoding="utf-8") as handle:
        head = handle.read(4096).lstrip()
    if head.startswith("["):
        return load_spans_json(path, language=language or "en")
    if head.startswith("{"):
        return load_notes_jsonl(path, language=language or "fr")
    if all(column in head.splitlines()[0] for column in DLP_COLUMNS) if head else False:
        return load_dlp_csv(path)
    raise ValueError(f"{path}: unknown labelled format (expected .json, .jsonl or .csv)")


def load_spans_json(path: str | Path, language: str = "en") -> list[LabelledText]:
    """A JSON array of `{full_text, spans: [{entity_type, start_position, end_position}]}`."""
    path = Path(path)
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: line {error.lineno}: invalid JSON ({error.msg})") from error
    if not isinstance(records, list):
        raise ValueError(f"{path}: expected a JSON array of records")

    texts = []
    for index, record in enumerate(records):
        where = f"{path}: record {index}"
        if not isinstance(record, dict) or not isinstance(record.get("full_text"), str):
            raise ValueError(f"{where}: missing string field 'full_text'")
        text = record["full_text"]
        spans = [
            _gold_span(span, "start_position", "end_position", "entity_type", text, where)
            for span in _span_list(record.get("spans"), where)
        ]
        text_id = str(record.get("id", index))
        texts.append(LabelledText(text_id, text, language, sorted(spans, key=_span_key)))

    logger.info("loaded %d labelled texts from %s", len(texts), path.name)
    return texts


def load_notes_jsonl(path: str | Path, language: str = "fr") -> list[LabelledText]:
    """One JSON object per line: `{note_id, note_text, entities: [{start, end, label}]}`."""
    path = Path(path)
    texts = []
    with path.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}: line {line_number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{where}: invalid JSON ({error.msg})") from error
            if not isinstance(record, dict) or not isinstance(record.get("note_text"), str):
                raise ValueError(f"{where}: missing string field 'note_text'")
            text = record["note_text"]
            spans = [
                _gold_span(span, "start", "end", "label", text, where)
                for span in _span_list(record.get("entities"), where)
            ]
            text_id = str(record.get("note_id", line_number))
            texts.append(LabelledText(text_id, text, language, sorted(spans, key=_span_key)))

    logger.info("loaded %d labelled texts from %s", len(texts), path.name)
    return texts


def load_dlp_csv(path: str | Path) -> list[LabelledMessage]:
    """The DLP benchmark CSV: `Example` text, `Type` Positive/Negative, `Subtype`, `Category`."""
    path = Path(path)
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [column for column in DLP_COLUMNS if column not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: line 1: missing columns {missing}")
        messages = list(_dlp_rows(reader, path))

    logger.info("loaded %d labelled messages from %s", len(messages), path.name)
    return messages


def _dlp_rows(reader: csv.DictReader, path: Path) -> Iterator[LabelledMessage]:
    for index, row in enumerate(reader):
        where = f"{path}: line {reader.line_num}"
        kind = (row.get("Type") or "").strip().lower()
        if kind not in ("positive", "negative"):
            raise ValueError(f"{where}: Type must be Positive or Negative")
        text = row.get("Example")
        if not text:
            raise ValueError(f"{where}: empty Example")
        yield LabelledMessage(
            message_id=(row.get("Example ID") or str(index)).strip(),
            text=text,
            sensitive=kind == "positive",
            subtype=(row.get("Subtype") or "").strip(),
            category=(row.get("Category") or "").strip(),
        )


def _span_list(spans: object, where: str) -> Iterable[dict]:
    if spans is None:
        return []
    if not isinstance(spans, list):
        raise ValueError(f"{where}: spans must be a list")
    return spans


def _gold_span(
    span: object, start_key: str, end_key: str, label_key: str, text: str, where: str
) -> GoldSpan:
    if not isinstance(span, dict):
        raise ValueError(f"{where}: a span is not an object")
    start, end, label = span.get(start_key), span.get(end_key), span.get(label_key)
    if not isinstance(start, int) or not isinstance(end, int) or not isinstance(label, str):
        raise ValueError(f"{where}: span needs integer {start_key}/{end_key} and a {label_key}")
    if not 0 <= start < end <= len(text):
        raise ValueError(f"{where}: span {start}-{end} outside the text (length {len(text)})")
    return GoldSpan(start, end, label)


def _span_key(span: GoldSpan) -> tuple[int, int]:
    return span.start, span.end
