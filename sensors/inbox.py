"""Watches the inbox and asks for ingestion of the days whose files are new or changed."""

import json
from pathlib import Path

import dagster as dg

from hybrid_pipelines.documents import arrival_date

ingest_job = dg.define_asset_job(
    "edge_ingest_job",
    selection=[
        "raw_documents",
        "pii_findings",
        "anonymized_documents",
        "egress_quarantine",
        "training_corpus",
    ],
    description="Ingest, detect, anonymize and send the cleared corpus to the cloud.",
)


def scan_inbox(inbox: Path, since_ns: int) -> tuple[set[str], int]:
    """Days with files modified after `since_ns`, and the newest modification time seen.

    Only the directory entries are stat-ed, never read, so a tick costs one pass over the
    inbox listing; moving processed files to an archive keeps it short."""
    days: set[str] = set()
    newest = since_ns
    for path in inbox.rglob("*"):
        if not path.is_file() or path.name.startswith("."):
            continue
        modified = path.stat().st_mtime_ns
        if modified > since_ns:
            days.add(arrival_date(path))
            newest = max(newest, modified)
    return days, newest


def build_inbox_sensor(inbox: str) -> dg.SensorDefinition:
    @dg.sensor(job=ingest_job, minimum_interval_seconds=30, name="inbox_sensor")
    def inbox_sensor(context: dg.SensorEvaluationContext):
        """Requests a run for each day that has new or changed files since the cursor."""
        state = json.loads(context.cursor) if context.cursor else {"mtime_ns": 0}
        days, newest = scan_inbox(Path(inbox), state["mtime_ns"])
        if not days:
            return dg.SkipReason("no new or changed files in the inbox")

        context.update_cursor(json.dumps({"mtime_ns": newest}))
        return [
            dg.RunRequest(
                run_key=f"inbox-{day}-{newest}",
                partition_key=day,
            )
            for day in sorted(days)
        ]

    return inbox_sensor
