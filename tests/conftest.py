"""Shared fixtures: offline settings, the labelled data beside the checkout, a fresh home."""

import json
import os
from pathlib import Path

import pytest

from hybrid_pipelines.offline import enforce_offline

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

enforce_offline()
os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The labelled datasets in ../shared/data; tests that need them skip where absent."""
    if not (SHARED_DATA / "pii_en_synthetic.json").exists():
        pytest.skip(
            f"labelled data not found at {SHARED_DATA} (only present beside the "
            "project checkout on the team's machines)"
        )
    return SHARED_DATA


def write_shared_sample(shared: Path, inbox: Path, *, per_set: int) -> dict[str, list]:
    """Copy a deterministic sample of each shared set into an inbox, in its own format.

    Returns the labelled entity values per set, for the privacy scans."""
    inbox.mkdir(parents=True, exist_ok=True)
    english = json.loads((shared / "pii_en_synthetic.json").read_text())[::37][:per_set]
    (inbox / "english.json").write_text(
        json.dumps([{"full_text": item["full_text"]} for item in english], ensure_ascii=False)
    )

    french_lines = (shared / "pii_fr_clinical.jsonl").read_text().splitlines()[::11][:per_set]
    (inbox / "french.jsonl").write_text("\n".join(french_lines) + "\n")

    dlp_lines = (shared / "dlp_sensitivity_dev.csv").read_text().splitlines()
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO("\n".join(dlp_lines))))[::5][:per_set]
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, fieldnames=["Example ID", "Type", "Subtype", "Example"], extrasaction="ignore"
    )
    writer.writeheader()
    writer.writerows(rows)
    (inbox / "dlp.csv").write_text(buffer.getvalue())

    english_values = [
        (span["entity_type"], span["entity_value"]) for item in english for span in item["spans"]
    ]
    french_values = []
    for line in french_lines:
        record = json.loads(line)
        french_values.extend(
            (entity["label"], record["note_text"][entity["start"] : entity["end"]])
            for entity in record["entities"]
        )
    return {"english": english_values, "french": french_values, "dlp_rows": rows}


def materialize_as_run(asset, resources: dict, run_config: dict):
    """One asset materialized through its implicit job, as the Dagster run of a user would."""
    import dagster as dg

    job = dg.Definitions(
        assets=[asset], resources=resources
    ).resolve_implicit_global_asset_job_def()
    return job.execute_in_process(run_config=run_config)
