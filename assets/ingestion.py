"""raw_documents: every readable document of the inbox for a day, with its quarantine."""

import time
from pathlib import Path

import dagster as dg
from pydantic import Field

from assets.common import (
    DAILY_PARTITIONS,
    DATA_OWNERS,
    SINGLE_RUN_BACKFILL,
    checked_records,
    histogram,
    histogram_table,
    materialized,
    placement_tags,
    protect_logs,
)
from hybrid_pipelines.documents import read_inbox
from hybrid_pipelines.language import detect_language
from hybrid_pipelines.placement import ON_PREM_SENSITIVE
from hybrid_pipelines.privacy import check_metadata
from resources.stores import InboxResource, OnPremStoreResource


class InboxConfig(dg.Config):
    inbox: str = Field(
        default="",
        description="Folder to read instead of the configured "
        "inbox (empty: the inbox of the deployment settings).",
    )


INGESTION_QUARANTINE = "ingestion_quarantine"


@dg.asset(
    partitions_def=DAILY_PARTITIONS,
    backfill_policy=SINGLE_RUN_BACKFILL,
    tags=placement_tags(ON_PREM_SENSITIVE),
    kinds={"python", "filesystem"},
    owners=DATA_OWNERS,
    group_name="ingestion",
)
def raw_documents(
    context: dg.AssetExecutionContext,
    config: InboxConfig,
    onprem: OnPremStoreResource,
    inbox: InboxResource,
) -> dg.MaterializeResult:
    """Documents from the on-prem inbox, one record per text, with language and label."""
    protect_logs(context)
    started = time.monotonic()
    partitions = set(context.partition_keys)

    folder = Path(config.inbox or inbox.path)
    if not folder.is_dir():
        raise dg.Failure(
            f"inbox {folder} is not a folder; set HYBRID_INBOX or the asset's `inbox` config"
        )

    documents, quarantined = read_inbox(folder, partitions, detect_language)

    store = onprem.store()
    for partition in sorted(partitions):
        store.write_records(
            raw_documents.key.path[-1],
            partition,
            [document.as_record() for document in documents if document.arrival_date == partition],
        )
        store.write_records(
            INGESTION_QUARANTINE,
            partition,
            [record.as_record() for record in quarantined if record.arrival_date == partition],
        )

    if quarantined:
        context.log.warning(
            f"quarantined {len(quarantined)} records; reasons and files are in "
            f"the on-prem {INGESTION_QUARANTINE} store"
        )

    return materialized(
        metadata={
            "dagster/row_count": len(documents),
            "quarantined_records": len(quarantined),
            "quarantine_reasons": histogram_table(
                histogram(record.kind for record in quarantined),
                "reason",
            ),
            "languages": histogram_table(histogram(doc.language for doc in documents), "language"),
            "labelled_documents": sum(1 for doc in documents if doc.label is not None),
            "partitions": len(partitions),
            "duration_seconds": round(time.monotonic() - started, 2),
        }
    )


@dg.asset_check(
    asset=raw_documents,
    blocking=True,
    description="Great Expectations suite on derived columns (ids, languages, lengths, "
    "dates); results name expectations and counts, never values.",
)
def raw_documents_expectations(
    context: dg.AssetCheckExecutionContext, onprem: OnPremStoreResource
) -> dg.AssetCheckResult:
    from hybrid_pipelines.documents import MAX_DOCUMENT_CHARS
    from hybrid_pipelines.expectations import validate_documents
    from hybrid_pipelines.pii import SUPPORTED_LANGUAGES

    protect_logs(context)
    store = onprem.store()
    rows = checked_records(context, store, "raw_documents")

    outcome = validate_documents(rows, languages=SUPPORTED_LANGUAGES, max_chars=MAX_DOCUMENT_CHARS)

    return dg.AssetCheckResult(
        passed=outcome.success,
        metadata=check_metadata(
            "raw_documents_expectations",
            {
                "rows_validated": outcome.rows,
                "expectations_passed": sum(outcome.expectations.values()),
                "expectations_failed": [name for name, ok in outcome.expectations.items() if not ok]
                or "none",
            },
        ),
    )
