"""document_routing: the promoted model classifies every document on Ray workers."""

import time

import dagster as dg
from dagster_ray import RayResource

from assets.common import (
    DAILY_PARTITIONS,
    DATA_OWNERS,
    SINGLE_RUN_BACKFILL,
    materialized,
    placement_tags,
    protect_logs,
)
from hybrid_pipelines.distributed import route_on_ray
from hybrid_pipelines.placement import ON_PREM_SENSITIVE
from hybrid_pipelines.promotion import EdgeModels
from resources.stores import OnPremStoreResource

SENSITIVE_THRESHOLD = 0.5


@dg.asset(
    deps=["anonymized_documents", "egress_quarantine", "edge_model"],
    partitions_def=DAILY_PARTITIONS,
    backfill_policy=SINGLE_RUN_BACKFILL,
    tags=placement_tags(ON_PREM_SENSITIVE),
    kinds={"ray", "pytorch"},
    owners=DATA_OWNERS,
    group_name="routing",
)
def document_routing(
    context: dg.AssetExecutionContext, onprem: OnPremStoreResource, ray_cluster: RayResource
) -> dg.MaterializeResult:
    """Each document's sensitivity under the current edge model, and whether it may go to
    cloud services (judged not sensitive and no PII found)."""
    protect_logs(context)
    started = time.monotonic()
    store = onprem.store()
    edge_models = EdgeModels(store)
    current = edge_models.current()
    if current is None:
        raise dg.Failure(
            "no edge model has been promoted yet; run the training and promotion "
            "first (hybrid-pipelines run does both)"
        )

    partitions = sorted(context.partition_keys)
    records = [
        (partition, record)
        for partition in partitions
        for name in ("anonymized_documents", "egress_quarantine")
        for record in store.read_records(name, partition)
    ]

    probabilities, device = route_on_ray(
        edge_models.weights(current["version"]),
        [record["text"] for _, record in records],
        [record["entity_type_counts"] for _, record in records],
    )

    routed = {partition: [] for partition in partitions}
    for (partition, record), probability in zip(records, probabilities, strict=True):
        sensitive = probability >= SENSITIVE_THRESHOLD
        routed[partition].append(
            {
                "doc_id": record["doc_id"],
                "sensitive_probability": round(probability, 4),
                "sensitive": sensitive,
                "pii_found": bool(record["entity_type_counts"]),
                "cloud_eligible": not sensitive and not record["entity_type_counts"],
                "model_version": current["version"],
            }
        )
    for partition, items in routed.items():
        store.write_records("document_routing", partition, items)

    all_items = [item for items in routed.values() for item in items]
    return materialized(
        metadata={
            "dagster/row_count": len(all_items),
            "model_version": current["version"],
            "judged_sensitive": sum(1 for item in all_items if item["sensitive"]),
            "cloud_eligible": sum(1 for item in all_items if item["cloud_eligible"]),
            "device": device,
            "duration_seconds": round(time.monotonic() - started, 2),
        }
    )
