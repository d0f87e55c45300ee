"""Metrics on hand-made records, loaders, and recall floors on the shared labelled sets."""

import json
from pathlib import Path

import pytest

from hybrid_pipelines.datasets import (
    GoldSpan,
    LabelledMessage,
    LabelledText,
    load_labelled,
)
from hybrid_pipelines.evaluation import (
    evaluate_detection,
    evaluate_routing,
    main,
    routing_metrics,
    split_records,
)
from hybrid_pipelines.pii import Finding, PiiDetector

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SAMPLE = 200


class FixedDetector:
    """Returns the findings it was given, per text, in order."""

    def __init__(self, findings: dict[str, list[Finding]]) -> None:
        self.findings = findings

    def detect_batch(self, texts, languages):
        return [self.findings.get(text, []) for text in texts]


def hand_made() -> tuple[list[LabelledText], FixedDetector]:
    text = "Anna calls 5550 home"
    record = LabelledText(
        "t1", text, "en", [GoldSpan(0, 4, "PERSON"), GoldSpan(11, 15, "PHONE_NUMBER")]
    )
    empty = LabelledText("t2", "nothing here", "en", [])
    detector = FixedDetector(
        {
            text: [Finding(2, 6, "PERSON", 0.9), Finding(16, 18, "LOCATION", 0.7)],
            "nothing here": [Finding(0, 7, "ORGANIZATION", 0.8)],
        }
    )
    return [record, empty], detector


def test_detection_counts_on_hand_made_records():
    records, detector = hand_made()

    report = evaluate_detection(records, detector)

    assert report.texts == 2
    assert (report.gold, report.found, report.recall) == (2, 1, 0.5)
    assert report.by_type["PERSON"].recall == 1.0
    assert report.by_type["PHONE_NUMBER"].recall == 0.0
    assert report.by_type["LOCATION"].precision == 0.0
    assert report.by_type["ORGANIZATION"].precision == 0.0
    assert (report.predicted, report.correct) == (3, 1)
    assert report.precision == pytest.approx(1 / 3)
    # Non-PII characters: 12 in the first text, 12 in the second; masked among them: 2 + 2 + 7.
    assert (report.non_pii_chars, report.over_masked_chars) == (24, 11)
    assert report.over_masking == pytest.approx(11 / 24)
    assert report.char_recall == pytest.approx(2 / 8)


def test_report_is_json_and_markdown_without_text():
    records, detector = hand_made()

    report = evaluate_detection(records, detector)
    encoded = json.dumps(report.as_dict())
    table = report.to_markdown()

    assert json.loads(encoded)["overall"]["recall"] == 0.5
    assert "| PERSON | 1 | 1 | 1.000 |" in table
    assert "**all**" in table
    for fragment in ("Anna", "5550", "home", "nothing"):
        assert fragment not in encoded
        assert fragment not in table


def test_routing_metrics_overall_and_per_subtype():
    y_true = [True, True, False, False, True]
    y_pred = [True, False, False, True, True]
    subtypes = ["Direct", "Typo", "Direct", "False Keywords", "Direct"]

    metrics = routing_metrics(y_true, y_pred, subtypes)

    assert metrics["accuracy"] == pytest.approx(0.6)
    assert metrics["precision"] == pytest.approx(2 / 3)
    assert metrics["recall"] == pytest.approx(2 / 3)
    assert metrics["f1"] == pytest.approx(2 / 3)
    direct = metrics["by_subtype"]["Direct"]
    assert (direct["accuracy"], direct["precision"], direct["recall"]) == (1.0, 1.0, 1.0)
    typo = metrics["by_subtype"]["Typo"]
    assert (typo["accuracy"], typo["precision"], typo["recall"], typo["f1"]) == (0, None, 0, None)
    keywords = metrics["by_subtype"]["False Keywords"]
    assert (keywords["precision"], keywords["recall"]) == (0.0, None)
    with pytest.raises(ValueError, match="lengths differ"):
        routing_metrics([True], [True, False], ["Direct"])


def test_split_is_by_index_modulo_five():
    records = list(range(12))

    assert split_records(records, "heldout") == [0, 5, 10]
    assert split_records(records, "dev") == [1, 2, 3, 4, 6, 7, 8, 9, 11]
    assert split_records(records, "all") == records


def test_loaders_on_small_files(tmp_path):
    english = tmp_path / "en.json"
    english.write_text(
        json.dumps(
            [
                {
                    "full_text": "Hi Bob",
                    "spans": [
                        {
                            "entity_type": "PERSON",
                            "entity_value": "Bob",
                            "start_position": 3,
                            "end_position": 6,
                        }
                    ],
                }
            ]
        )
    )
    french = tmp_path / "fr.jsonl"
    french.write_text('{"note_id": "n1", "note_text": "Mme X", "entities": []}\n')
    dlp = tmp_path / "dlp.csv"
    dlp.write_text(
        "Example ID,Category,Point,Type,Subtype,Example,Explanation\n"
        '7,Contact,p,Positive,Direct,"My name is Bob, hi",why\n'
    )

    assert load_labelled(english) == [LabelledText("0", "Hi Bob", "en", [GoldSpan(3, 6, "PERSON")])]
    assert load_labelled(french)[0].language == "fr"
    assert load_labelled(dlp) == [
        LabelledMessage("7", "My name is Bob, hi", True, "Direct", "Contact")
    ]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.jsonl", '{"note_text": "ok", "entities": []}\n{not json}\n', "line 2"),
        (
            "span.jsonl",
            '{"note_text": "ab", "entities": [{"start": 0, "end": 9, "label": "X"}]}\n',
            "line 1: span 0-9 outside",
        ),
        ("bad.json", '[{"spans": []}]', "record 0: missing string field 'full_text'"),
        ("bad.csv", "Example,Type,Subtype,Category\nhello,Maybe,Direct,X\n", "line 2: Type"),
        ("short.csv", "Example,Type\nhello,Positive\n", "missing columns"),
    ],
)
def test_bad_records_name_file_and_line(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)

    with pytest.raises(ValueError, match=message) as error:
        load_labelled(path)
    assert name in str(error.value)


needs_data = pytest.mark.skipif(
    not DATA.is_dir(), reason=f"shared labelled data not found at {DATA} (outside the checkout)"
)


@pytest.fixture(scope="session")
def detector() -> PiiDetector:
    return PiiDetector(languages=["en", "fr"])


@needs_data
@pytest.mark.slow
@pytest.mark.parametrize(
    ("filename", "floor", "over_masking_ceiling"),
    [("pii_en_synthetic.json", 0.90, 0.08), ("pii_fr_clinical.jsonl", 0.90, 0.18)],
)
def test_recall_floor_on_held_out_sample(detector, filename, floor, over_masking_ceiling):
    records = split_records(load_labelled(DATA / filename), "heldout")[:SAMPLE]

    report = evaluate_detection(records, detector)

    assert report.recall > floor
    assert report.over_masking < over_masking_ceiling
    values = {record.text[span.start : span.end] for record in records for span in record.spans}
    encoded = json.dumps(report.as_dict())
    assert not [value for value in values if len(value) > 3 and f'"{value}"' in encoded]


@needs_data
@pytest.mark.slow
def test_dlp_set_loads_and_routes(detector):
    messages = load_labelled(DATA / "dlp_sensitivity_dev.csv")

    metrics = evaluate_routing(messages[:60], detector)

    assert len(messages) == 600
    assert {"Direct", "Typo", "Contextual", "False Keywords"} >= set(metrics["by_subtype"])
    assert metrics["count"] == 60
    assert 0.0 <= metrics["accuracy"] <= 1.0


def test_main_reports_a_bad_file(tmp_path, capsys):
    path = tmp_path / "broken.json"
    path.write_text("{")

    assert main(["--dataset", str(path)]) == 2
    assert "broken.json" in capsys.readouterr().err
