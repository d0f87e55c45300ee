"""Sees each newly registered candidate once and asks for its on-prem evaluation."""

import dagster as dg

from hybrid_pipelines.registry import ModelRegistry
from resources.stores import CloudStoreResource

promote_job = dg.define_asset_job(
    "promote_model_job",
    selection=["candidate_evaluation", "edge_model"],
    description="Evaluate a registered candidate on-prem and promote it if it is good enough.",
)


@dg.sensor(
    job=promote_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING
)
def model_promotion_sensor(context: dg.SensorEvaluationContext, cloud: CloudStoreResource):
    """One evaluation run per new complete registry version; the cursor is the newest
    version seen, so restarts never evaluate a version twice."""
    registry = ModelRegistry(cloud.store())
    cursor = context.cursor or ""
    new_versions = [version for version in registry.versions() if version > cursor]
    if not new_versions:
        return dg.SkipReason("no new registered candidate")

    context.update_cursor(new_versions[-1])
    return [
        dg.RunRequest(
            run_key=f"promote-{version}",
            run_config={"ops": {"promotion": {"config": {"version": version}}}},
            tags={"hybrid/model_version": version},
        )
        for version in new_versions
    ]
