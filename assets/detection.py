"""pii_findings: presidio and our recognizers over every document, on Ray workers."""

import time

import dagster as dg
from dagster_ray import RayResource

from assets.common import (
    DAILY_PARTITIONS,
    DATA_OWNERS,
    SINGLE_RUN_BACKFILL,
    histogram,
    histogram_table,
    materialized,
    placement_tags,
    protect_logs,
)
from assets.ingestion import raw_documents
from hybrid_pipelines.charts import bar_chart
from hybrid_pipelines.distributed import detect_on_ray
from hybrid_pipelines.pii import DEFAULT_SCORE_THRESHOLD, SUPPORTED_LANGUAGES
from hybrid_pipelines.placement import ON_PREM_SENSITIVE
from resources.stores import OnPremStoreResource


class DetectionConfig(dg.Config):
    score_threshold: float = DEFAULT_SCORE_THRESHOLD
    workers: int = 2
    batch_size: int = 64


@dg.asset(
    deps=[raw_documents],
    partitions_def=DAILY_PARTITIONS,
    backfill_policy=SINGLE_RUN_BACKFILL,
    tags=placement_tags(ON_PREM_SENSITIVE),
    kinds={"ray", "presidio"},
    owners=DATA_OWNERS,
    group_name="detection",
)
def pii_findings(
    context: dg.AssetExecutionContext,
    config: DetectionConfig,
    onprem: OnPremStoreResource,
    ray_cluster: RayResource,
) -> dg.MaterializeResult:
    """PII spans found in each raw document: offsets, entity types and scores."""
    protect_logs(context)
    started = time.monotonic()
    store = onprem.store()
    partitions = sorted(context.partition_keys)
    documents = store.read_partitions("raw_documents", partitions)

    findings = detect_on_ray(
        [document["text"] for document in documents],
        [document["language"] for document in documents],
        supported_languages=SUPPORTED_LANGUAGES,
        score_threshold=config.score_threshold,
        workers=config.workers,
        batch_size=config.batch_size,
    )

    for partition in partitions:
        store.write_records(
            "pii_findings",
            partition,
            [
                {"doc_id": document["doc_id"], "findings": document_findings}
                for document, document_findings in zip(documents, findings, strict=True)
                if document["arrival_date"] == partition
            ],
        )

    entity_counts = histogram(
        item["type"] for document_findings in findings for item in document_findings
    )
    elapsed = time.monotonic() - started
    return materialized(
        metadata={
            "dagster/row_count": len(documents),
            "documents_with_pii": sum(1 for document_findings in findings if document_findings),
            "findings": sum(entity_counts.values()),
            "entity_types": histogram_table(entity_counts, "entity_type"),
            "entity_types_chart": dg.MetadataValue.md(
                bar_chart(entity_counts, "Findings per entity type")
            ),
            "ray_workers": config.workers,
            "documents_per_second": round(len(documents) / elapsed, 2) if elapsed else 0.0,
            "duration_seconds": round(elapsed, 2),
        }
    )
