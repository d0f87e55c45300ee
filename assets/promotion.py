"""candidate_evaluation and edge_model: on-prem evaluation of a registered candidate and its
promotion to the edge, with rollback."""

import json

import dagster as dg
from pydantic import Field

from assets.common import ML_OWNERS, materialized, placement_tags, protect_logs
from hybrid_pipelines import routing_model
from hybrid_pipelines.placement import CLOUD_PUBLIC, ON_PREM_ANONYMIZED, ON_PREM_PUBLIC
from hybrid_pipelines.promotion import EdgeModels, decide, evaluation_set
from hybrid_pipelines.registry import ModelRegistry, ModelStatus
from resources.stores import CloudStoreResource, OnPremStoreResource

EVALUATION = "candidate_evaluation"
EDGE_MODEL = "edge_model"


# The edge reads the registry the cloud location writes; it declares the asset by key.
sensitivity_model_candidate_spec = dg.AssetSpec(
    "sensitivity_model_candidate",
    tags=placement_tags(CLOUD_PUBLIC),
    group_name="training",
    description="Registered by the cloud code location; read here from the registry.",
)


class PromotionConfig(dg.Config):
    version: str = Field(description="Registry version of the candidate to evaluate.")


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            EVALUATION,
            deps=[sensitivity_model_candidate_spec.key, "anonymized_documents"],
            tags=placement_tags(ON_PREM_ANONYMIZED),
            kinds={"pytorch"},
            owners=ML_OWNERS,
            group_name="promotion",
            description="Scores of a candidate and of the current edge model on "
            "labelled holdout data that never leaves on-prem.",
        ),
        dg.AssetSpec(
            EDGE_MODEL,
            deps=[EVALUATION],
            tags=placement_tags(ON_PREM_PUBLIC),
            kinds={"pytorch"},
            owners=ML_OWNERS,
            group_name="promotion",
            skippable=True,
            description="The sensitivity model the edge routes with.",
        ),
    ],
    can_subset=False,
)
def promotion(
    context: dg.AssetExecutionContext,
    config: PromotionConfig,
    onprem: OnPremStoreResource,
    cloud: CloudStoreResource,
):
    protect_logs(context)
    store = onprem.store()
    registry = ModelRegistry(cloud.store())
    edge_models = EdgeModels(store)

    status = registry.status(config.version)
    if status is not ModelStatus.CANDIDATE:
        # A daemon and `hybrid-pipelines run` keep separate sensor cursors, and a run can be
        # retried: a version is decided once, whoever asks again.
        context.log.info(f"{config.version} was already decided ({status}); nothing to do")
        yield materialized(
            asset_key=EVALUATION,
            metadata={
                "candidate_version": config.version,
                "decision": f"already {status.value if status else 'unknown'}",
            },
        )
        return

    candidate = registry.load(config.version)
    eval_records = evaluation_set(store)
    matrix = routing_model.features(
        [item["text"] for item in eval_records],
        [item["entity_type_counts"] for item in eval_records],
    )
    truth = [item["label"] for item in eval_records]

    candidate_model = routing_model.deserialise(candidate.weights, name=config.version)
    candidate_scores = routing_model.classification_metrics(
        truth, routing_model.predict(candidate_model, matrix)
    )

    current = edge_models.current()
    current_scores = None
    if current is not None:
        current_model = routing_model.deserialise(
            edge_models.weights(current["version"]), name=current["version"]
        )
        current_scores = routing_model.classification_metrics(
            truth, routing_model.predict(current_model, matrix)
        )

    decision = decide(candidate_scores, current_scores, len(eval_records))
    details = {
        "reason": decision.reason,
        "candidate_scores": candidate_scores,
        "current_scores": current_scores,
        "evaluated_on": len(eval_records),
    }
    registry.set_status(config.version, decision.status, details)

    yield materialized(
        asset_key=EVALUATION,
        metadata={
            "candidate_version": config.version,
            "decision": decision.status.value,
            "reason": decision.reason,
            "evaluation_records": len(eval_records),
            "candidate_balanced_accuracy": candidate_scores["balanced_accuracy"],
            "candidate_f1": candidate_scores["f1"],
            "current_version": current["version"] if current else "none",
            "current_balanced_accuracy": current_scores["balanced_accuracy"]
            if current_scores
            else 0.0,
            "scores": dg.MetadataValue.json(
                {"candidate": candidate_scores, "current": current_scores}
            ),
        },
    )

    if decision.status is ModelStatus.PROMOTED:
        edge_models.promote(config.version, candidate.weights, candidate.card, candidate_scores)
        context.log.info(f"promoted {config.version} to the edge: {decision.reason}")
        yield materialized(
            asset_key=EDGE_MODEL,
            metadata={
                "model_version": config.version,
                "balanced_accuracy": candidate_scores["balanced_accuracy"],
                "f1": candidate_scores["f1"],
                "previous_version": current["version"] if current else "none",
            },
        )
    else:
        context.log.warning(f"rejected candidate {config.version}: {decision.reason}")


def rollback_edge_model(onprem: OnPremStoreResource, cloud: CloudStoreResource) -> dict:
    """Restore the previous edge model and mark the current one rolled back."""
    edge_models = EdgeModels(onprem.store())
    rolled_back, restored = edge_models.rollback()
    ModelRegistry(cloud.store()).set_status(
        rolled_back, ModelStatus.ROLLED_BACK, {"reason": f"rolled back to {restored}"}
    )
    return {"rolled_back": rolled_back, "restored": restored}


@dg.op(tags={"hybrid/plane": "on_prem"})
def rollback_edge_model_op(
    context: dg.OpExecutionContext, onprem: OnPremStoreResource, cloud: CloudStoreResource
) -> None:
    """Make the previous edge model current again."""
    result = rollback_edge_model(onprem, cloud)
    context.log.info(f"edge model rolled back: {json.dumps(result)}")
    context.log_event(
        dg.AssetMaterialization(
            EDGE_MODEL,
            metadata={
                "model_version": result["restored"],
                "rolled_back_version": result["rolled_back"],
            },
        )
    )


@dg.job(description="Restore the previous edge model in one action.")
def rollback_job() -> None:
    rollback_edge_model_op()
