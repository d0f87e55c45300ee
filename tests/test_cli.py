"""The console script as a user runs it: evaluate, sample, preflight, audit."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = str(Path(sys.executable).parent / "hybrid-pipelines")


def run(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([SCRIPT, *arguments], capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_evaluate_reports_detection_per_entity_type_as_json(tmp_path):
    text = "Write to jane.roe@example.org or call 415-555-0132 today."
    dataset = tmp_path / "labelled.json"
    dataset.write_text(
        json.dumps(
            [
                {
                    "full_text": text,
                    "spans": [
                        {
                            "entity_type": "EMAIL_ADDRESS",
                            "entity_value": "jane.roe@example.org",
                            "start_position": 9,
                            "end_position": 29,
                        },
                        {
                            "entity_type": "PHONE_NUMBER",
                            "entity_value": "415-555-0132",
                            "start_position": 38,
                            "end_position": 50,
                        },
                    ],
                }
            ]
        )
    )

    completed = run("evaluate", "--dataset", str(dataset), "--json")

    assert completed.returncode == 0, completed.stderr[-2000:]
    report = json.loads(completed.stdout)["detection"]
    assert report["by_type"]["EMAIL_ADDRESS"]["recall"] == 1.0
    assert report["by_type"]["PHONE_NUMBER"]["recall"] == 1.0
    assert "jane.roe" not in completed.stdout


def test_sample_writes_every_format_and_some_bad_files(tmp_path):
    completed = run("sample", "--inbox", str(tmp_path / "inbox"))

    written = {path.suffix for path in (tmp_path / "inbox").iterdir()}
    assert completed.returncode == 0
    assert {".txt", ".md", ".eml", ".json", ".jsonl", ".csv"} <= written
    assert json.loads(completed.stdout)["bad_files"] >= 2


def test_preflight_passes_offline(tmp_path):
    completed = run("preflight", "--home", str(tmp_path / "home"))

    assert completed.returncode == 0, completed.stdout
    assert "FAIL" not in completed.stdout
    assert "tldextract suffix list" in completed.stdout


def test_run_with_a_missing_inbox_fails_clearly(tmp_path):
    completed = run("run", "--inbox", str(tmp_path / "nowhere"), "--home", str(tmp_path / "h"))

    assert completed.returncode == 2
    assert "is not a folder" in completed.stdout


def test_audit_of_a_tampered_log_fails(tmp_path):
    audit = tmp_path / "home" / "onprem" / "egress_audit.jsonl"
    audit.parent.mkdir(parents=True)
    audit.write_text(
        json.dumps({"asset": "x", "previous_hash": "0" * 64, "chain_hash": "f" * 64}) + "\n"
    )

    completed = run("audit", "--home", str(tmp_path / "home"))

    assert completed.returncode == 3
    assert "was altered" in completed.stdout
