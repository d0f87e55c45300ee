"""The `edge` code location: on-prem assets, the inbox and promotion sensors."""

import dagster as dg

from assets import anonymization, detection, egress, ingestion, promotion, quality, routing
from deployments.placement_check import enforce_placement
from deployments.resources import edge_resources
from deployments.settings import load_settings
from sensors.failures import run_failure_recorder
from sensors.inbox import build_inbox_sensor, ingest_job
from sensors.promotion import model_promotion_sensor, promote_job

routing_job = dg.define_asset_job(
    "routing_job",
    selection=["document_routing"],
    description="Classify documents with the current edge model.",
)

daily_lineage_schedule = dg.build_schedule_from_partitioned_job(
    ingest_job,
    hour_of_day=2,
    name="daily_lineage_schedule",
)


def build_definitions(settings=None) -> dg.Definitions:
    settings = settings or load_settings()
    defs = dg.Definitions(
        assets=[
            *dg.load_assets_from_modules(
                [ingestion, detection, anonymization, egress, promotion, routing, quality]
            ),
            promotion.sensitivity_model_candidate_spec,
        ],
        asset_checks=[anonymization.residual_pii_gate, ingestion.raw_documents_expectations],
        jobs=[ingest_job, promote_job, routing_job, promotion.rollback_job],
        schedules=[daily_lineage_schedule],
        sensors=[
            build_inbox_sensor(str(settings.inbox)),
            model_promotion_sensor,
            run_failure_recorder,
        ],
        resources=edge_resources(settings),
    )
    return enforce_placement(defs)


defs = build_definitions()
