"""sensitivity_model_candidate: fine-tuned in the cloud through Pipes, registered with its card."""

import dagster as dg

from assets.common import ML_OWNERS, placement_tags
from hybrid_pipelines.placement import CLOUD_ANONYMIZED, CLOUD_PUBLIC
from hybrid_pipelines.privacy import check_metadata
from resources.stores import CloudStoreResource
from resources.training import TrainingLauncher

# The cloud location reads the corpus the edge wrote; it declares it by key, with its tags.
training_corpus_spec = dg.AssetSpec(
    "training_corpus",
    tags=placement_tags(CLOUD_ANONYMIZED),
    group_name="egress",
    description="Written by the edge code location; read here from the cloud store.",
)


class TrainingConfig(dg.Config):
    epochs: int = 60
    seed: int = 7


@dg.asset(
    deps=[training_corpus_spec.key],
    tags=placement_tags(CLOUD_PUBLIC),
    kinds={"pytorch", "kubernetes", "s3"},
    owners=ML_OWNERS,
    group_name="training",
)
def sensitivity_model_candidate(
    context: dg.AssetExecutionContext,
    config: TrainingConfig,
    cloud: CloudStoreResource,
    trainer: TrainingLauncher,
) -> dg.MaterializeResult:
    """A sensitivity classifier trained on the anonymized corpus, registered as a candidate.

    Model weights and cards hold no personal data: the model only ever saw gated, anonymized
    features, which is why the asset is public-class in the cloud.
    """
    extras = {
        "store": cloud.spec(),
        "epochs": config.epochs,
        "seed": config.seed,
        "run_id": context.run_id,
    }
    result = trainer.run(context, extras).get_materialize_result()
    check_metadata(
        "asset 'sensitivity_model_candidate'",
        result.metadata or {},
        configured=[cloud.store().uri_prefix],
    )
    return result
