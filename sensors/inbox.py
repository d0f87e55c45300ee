"""Watches the inbox and asks for ingestion of the days whose files are new or changed."""

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
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


@dataclass(frozen=True)
class InboxScan:
    days: set[str]
    newest_ns: int
    files_examined: int


def _changed_at(entry: os.DirEntry) -> int:
    status = entry.stat(follow_symlinks=False)
    return max(status.st_mtime_ns, status.st_ctime_ns)


def _changed_files(folder: Path, since_ns: int) -> Iterator[os.DirEntry]:
    """Files of one folder, recursing only into folders modified after `since_ns`."""
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                if _changed_at(entry) > since_ns:
                    yield from _changed_files(Path(entry.path), since_ns)
            elif entry.is_file():
                yield entry


def scan_inbox(inbox: Path, since_ns: int) -> InboxScan:
    """Days with files added or replaced after `since_ns`, and the newest time seen.

    A folder's modification time moves when a file is added, removed or renamed into it, so
    folders untouched since the cursor are skipped whole: with the dated layout
    (`inbox/YYYY-MM-DD/...`) a tick lists the top folder and the days that changed, whatever
    the number of files processed before. Files must arrive by copy or atomic rename (as
    every transfer tool does); an edit in place that keeps the folder's time is not seen."""
    days: set[str] = set()
    newest, examined = since_ns, 0
    top = inbox.stat()
    if max(top.st_mtime_ns, top.st_ctime_ns) <= since_ns:
        candidates = (
            entry
            for child in os.scandir(inbox)
            if child.is_dir(follow_symlinks=False)
            and not child.name.startswith(".")
            and child.stat().st_mtime_ns > since_ns
            for entry in _changed_files(Path(child.path), since_ns)
        )
    else:
        candidates = _changed_files(inbox, since_ns)

    for entry in candidates:
        examined += 1
        # The change time too: a copy that preserves the modification time (cp -p, rsync -t)
        # still gets a fresh change time when it lands.
        status = entry.stat()
        modified = max(status.st_mtime_ns, status.st_ctime_ns)
        if modified > since_ns:
            days.add(arrival_date(Path(entry.path)))
            newest = max(newest, modified)
    return InboxScan(days, newest, examined)


def build_inbox_sensor(inbox: str) -> dg.SensorDefinition:
    @dg.sensor(job=ingest_job, minimum_interval_seconds=30, name="inbox_sensor")
    def inbox_sensor(context: dg.SensorEvaluationContext):
        """Requests a run for each day that has new or changed files since the cursor."""
        state = json.loads(context.cursor) if context.cursor else {"mtime_ns": 0}
        scan = scan_inbox(Path(inbox), state["mtime_ns"])
        days, newest = scan.days, scan.newest_ns
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
