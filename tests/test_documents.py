"""Inbox reading: every format, stable ids, partitions, and a recorded outcome for bad input."""

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hybrid_pipelines.documents import (
    MAX_FILE_BYTES,
    arrival_date,
    document_id,
    read_file,
    read_inbox,
)


def english(_text: str) -> str:
    return "en"


def write(inbox: Path, name: str, content: str | bytes) -> Path:
    path = inbox / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "content", "expected_texts", "expected_labels"),
    [
        ("a.txt", "Plain text note.\n", ["Plain text note."], [None]),
        ("b.md", "# Title\n\nBody", ["# Title\n\nBody"], [None]),
        (
            "c.jsonl",
            '{"text": "one", "label": "positive"}\n\n{"text": "two", "label": 0}\n',
            ["one", "two"],
            [True, False],
        ),
        (
            "d.json",
            json.dumps([{"full_text": "x1"}, {"note_text": "x2", "sensitive": True}]),
            ["x1", "x2"],
            [None, True],
        ),
        ("e.json", json.dumps({"body": "single object"}), ["single object"], [None]),
        (
            "f.csv",
            'id,Example,Type\n1,first message,Positive\n2,"second, quoted",Negative\n',
            ["first message", "second, quoted"],
            [True, False],
        ),
    ],
)
def test_every_supported_format_yields_its_documents(
    tmp_path, name, content, expected_texts, expected_labels
):
    path = write(tmp_path, name, content)

    documents, quarantined = read_file(path, tmp_path, english)

    assert quarantined == []
    assert [document.text for document in documents] == expected_texts
    assert [document.label for document in documents] == expected_labels
    assert all(document.source_file == name for document in documents)


def test_email_keeps_headers_and_body(tmp_path):
    message = (
        "From: Alice Example <alice@example.com>\nTo: hr@example.org\nSubject: Leave\n"
        "Content-Type: text/plain; charset=utf-8\n\nI will be away on Monday.\n"
    )
    path = write(tmp_path, "m.eml", message)

    [document], quarantined = read_file(path, tmp_path, english)

    assert quarantined == []
    assert "alice@example.com" in document.text
    assert "Subject: Leave" in document.text
    assert "away on Monday" in document.text


@pytest.mark.parametrize(
    ("name", "content", "line", "reason_start"),
    [
        ("empty.txt", "", 0, "empty file"),
        ("blank.md", "  \n\n", 0, "empty file"),
        ("scan.txt", b"\x00\x01\x02binary", 0, "binary content"),
        ("latin1.txt", "café".encode("latin-1"), 0, "not valid UTF-8"),
        ("image.png", b"\x89PNG....", 0, "unsupported file type"),
        ("bad.jsonl", '{"text": "ok"}\n{"text": "cut\n', 2, "malformed JSON"),
        ("notext.jsonl", '{"title": "no text here"}\n', 1, "no text field"),
        ("array.jsonl", "[1, 2]\n", 1, "expected a JSON object"),
        ("label.jsonl", '{"text": "x", "label": "maybe"}\n', 1, "field 'label'"),
        ("short.csv", "id,text\n1,fine\n2\n", 3, "row has a different number"),
        ("nocol.csv", "id,title\n1,x\n", 1, "no text column"),
    ],
)
def test_bad_input_is_quarantined_with_file_line_and_reason(
    tmp_path, name, content, line, reason_start
):
    path = write(tmp_path, name, content)

    _documents, quarantined = read_file(path, tmp_path, english)

    assert len(quarantined) == 1
    [record] = quarantined
    assert record.source_file == name
    assert record.source_line == line
    assert record.reason.startswith(reason_start)
    assert len(record.content_sha256) == 64


def test_good_records_of_a_partly_bad_file_are_kept(tmp_path):
    path = write(tmp_path, "mixed.jsonl", '{"text": "first"}\nnot json\n{"text": "third"}\n')

    documents, quarantined = read_file(path, tmp_path, english)

    assert [document.text for document in documents] == ["first", "third"]
    assert [document.source_line for document in documents] == [1, 3]
    assert [(record.source_line, record.reason[:9]) for record in quarantined] == [(2, "malformed")]


def test_oversized_file_is_quarantined_without_parsing(tmp_path):
    path = write(tmp_path, "huge.txt", b"a" * (MAX_FILE_BYTES + 1))

    documents, quarantined = read_file(path, tmp_path, english)

    assert documents == []
    assert quarantined[0].reason.startswith("file larger than")


def test_document_ids_are_stable_and_depend_on_content_only(tmp_path):
    write(tmp_path, "one.txt", "Same  content\n")
    write(tmp_path, "sub/two.md", "Same content")
    write(tmp_path, "three.txt", "Other content")

    documents, _ = read_inbox(tmp_path, None, english)

    assert document_id("Same content") == document_id("Same   content ")
    assert len(documents) == 2
    assert {document.doc_id for document in documents} == {
        document_id("Same content"),
        document_id("Other content"),
    }


def test_arrival_date_comes_from_a_dated_folder_or_the_modification_time(tmp_path):
    dated = write(tmp_path, "2025-03-01/a.txt", "dated")
    undated = write(tmp_path, "b.txt", "undated")
    stamp = datetime(2025, 2, 14, 12, tzinfo=UTC).timestamp()
    os.utime(undated, (stamp, stamp))

    assert arrival_date(dated) == "2025-03-01"
    assert arrival_date(undated) == "2025-02-14"

    documents, _ = read_inbox(tmp_path, {"2025-03-01"}, english)
    assert [document.text for document in documents] == ["dated"]


def test_language_detection_tells_english_from_french():
    from hybrid_pipelines.language import detect_language

    assert detect_language("The patient was discharged on Monday with a prescription.") == "en"
    assert detect_language("Le patient est sorti lundi avec une ordonnance.") == "fr"
