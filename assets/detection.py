"""pii_findings: presidio, our recognizers and the on-prem token model over every document,
on Ray workers; pii_token_model: that model, fine-tuned on the team's labelled files."""

import shutil
import time

import dagster as dg
from dagster_ray import RayResource
from pydantic import Field

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
from resources.evaluation import EvaluationDatasets, TokenModelFolder
from resources.stores import OnPremStoreResource


class TokenModelConfig(dg.Config):
    datasets: list[str] = Field(
        default_factory=list,
        description="Span-labelled files on-prem; empty: the files in HYBRID_EVAL_DATASETS.",
    )
    epochs: int = Field(default=4, ge=1)
    layers: int = Field(default=6, ge=1, le=6, description="MiniLM layers kept")


@dg.asset(
    tags=placement_tags(ON_PREM_SENSITIVE),
    kinds={"torch"},
    owners=DATA_OWNERS,
    group_name="detection",
)
def pii_token_model(
    context: dg.AssetExecutionContext,
    config: TokenModelConfig,
    evaluation: EvaluationDatasets,
    token_model: TokenModelFolder,
) -> dg.MaterializeResult:
    """MiniLM fine-tuned to tag names, places, addresses, organisations and titles.

    Trained on the development split of the labelled files (index % 5 != 0; the rest is
    what `detection_quality` scores). Its weights are learnt from raw text, so they stay
    on-prem: the folder of the `token_model` resource, replaced whole once training ends.
    """
    from hybrid_pipelines.token_model import TrainingSettings, dataset_sha256, train_token_model

    protect_logs(context)
    paths, records = evaluation.span_records(config.datasets, "dev")

    settings = TrainingSettings(epochs=config.epochs, layers=config.layers)
    model = train_token_model(
        records, settings, [dataset_sha256(path) for path in paths], split="dev"
    )
    target = token_model.folder()
    staging = target.with_name(f".{target.name}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    model.save(staging)
    previous = target.with_name(f".{target.name}.previous")
    shutil.rmtree(previous, ignore_errors=True)
    if target.exists():
        target.rename(previous)
    staging.rename(target)
    shutil.rmtree(previous, ignore_errors=True)

    summary = model.summary
    return materialized(
        metadata={
            "texts": summary.texts,
            "languages": ", ".join(summary.languages),
            "windows": summary.windows,
            "tokens_per_class": histogram_table(summary.tokens_per_class, "class"),
            "final_loss": summary.final_loss,
            "training_seconds": summary.seconds,
            "dataset_sha256": ", ".join(summary.dataset_sha256),
        }
    )


class DetectionConfig(dg.Config):
    score_threshold: float = DEFAULT_SCORE_THRESHOLD
    workers: int = 2
    batch_size: int = 64


@dg.asset(
    deps=[raw_documents, pii_token_model],
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
    token_model: TokenModelFolder,
) -> dg.MaterializeResult:
    """PII spans found in each raw document: offsets, entity types and scores. Uses the
    on-prem token model when one has been trained (`pii_token_model`)."""
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
        token_model=token_model.current(),
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
            "token_model": "yes" if token_model.current() else "no (rules and spaCy)",
            "documents_per_second": round(len(documents) / elapsed, 2) if elapsed else 0.0,
            "duration_seconds": round(elapsed, 2),
        }
    )
