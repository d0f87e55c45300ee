"""detection_quality: how well the detector finds PII on the team's own labelled files."""

import time

import dagster as dg
from pydantic import Field

from assets.common import DATA_OWNERS, materialized, placement_tags, protect_logs
from hybrid_pipelines.charts import bar_chart
from hybrid_pipelines.evaluation import evaluate_detection
from hybrid_pipelines.pii import PiiDetector
from hybrid_pipelines.placement import ON_PREM_PUBLIC
from resources.evaluation import EvaluationDatasets, TokenModelFolder


class QualityConfig(dg.Config):
    datasets: list[str] = Field(
        default_factory=list,
        description="Labelled files on-prem (the formats of `hybrid-pipelines evaluate`); "
        "empty: the files listed in HYBRID_EVAL_DATASETS.",
    )


def _quality_table(report: dict) -> dg.TableMetadataValue:
    columns = ["entity_type", "gold", "found", "recall", "predicted", "precision"]
    return dg.MetadataValue.table(
        records=[
            dg.TableRecord(
                {
                    "entity_type": name,
                    "gold": counts["gold"],
                    "found": counts["found"],
                    "recall": counts["recall"] or 0.0,
                    "predicted": counts["predicted"],
                    "precision": counts["precision"] or 0.0,
                }
            )
            for name, counts in report["by_type"].items()
        ],
        schema=dg.TableSchema(
            columns=[
                dg.TableColumn(name, "string" if name == "entity_type" else "float")
                for name in columns
            ]
        ),
    )


@dg.asset(
    tags=placement_tags(ON_PREM_PUBLIC),
    kinds={"presidio"},
    owners=DATA_OWNERS,
    group_name="detection",
)
def detection_quality(
    context: dg.AssetExecutionContext,
    config: QualityConfig,
    evaluation: EvaluationDatasets,
    token_model: TokenModelFolder,
) -> dg.MaterializeResult:
    """Span recall, precision and over-masking of the PII detector per entity type, on the
    labelled files kept on-prem; the figures only, never the texts.

    With a trained token model the detector includes it and only the held-out split
    (index % 5 == 0) is scored, since the model learnt from the rest."""
    protect_logs(context)
    started = time.monotonic()
    model_folder = token_model.current()
    split = "heldout" if model_folder else "all"
    paths, records = evaluation.span_records(config.datasets, split)

    detector = PiiDetector(token_model=model_folder)
    report = evaluate_detection(records, detector).as_dict()
    if detector.token_model is not None and detector.token_model.summary.split != "dev":
        context.log.warning(
            "the token model was trained on every record of its files: where those are the "
            "files scored here, the figures are optimistic"
        )

    recall_by_type = {
        name: counts["recall"] or 0.0
        for name, counts in report["by_type"].items()
        if counts["gold"]
    }
    overall = report["overall"]
    return materialized(
        metadata={
            "texts": report["texts"],
            "span_recall": overall["recall"] or 0.0,
            "precision": overall["precision"] or 0.0,
            "over_masking": overall["over_masking"] or 0.0,
            "quality_by_type": _quality_table(report),
            "recall_by_type_chart": dg.MetadataValue.md(
                bar_chart(recall_by_type, "Span recall per entity type")
            ),
            "datasets": len(paths),
            "split": split,
            "token_model": "yes" if model_folder else "no (rules and spaCy)",
            "duration_seconds": round(time.monotonic() - started, 2),
        }
    )
