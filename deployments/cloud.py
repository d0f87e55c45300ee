"""The `cloud` code location: fine-tuning and the model registry."""

import json

import dagster as dg

from assets import training
from deployments.placement_check import enforce_placement
from deployments.resources import cloud_resources
from deployments.settings import load_settings

# The Helm chart does not pass node selectors to run pods; the run launcher reads this tag.
CLOUD_RUN_PLACEMENT = {
    "dagster-k8s/config": json.dumps(
        {"pod_spec_config": {"node_selector": {"hybrid.io/zone": "cloud"}}}
    )
}

training_job = dg.define_asset_job(
    "training_job",
    selection=["sensitivity_model_candidate"],
    tags=CLOUD_RUN_PLACEMENT,
    description="Fine-tune a candidate on the anonymized corpus and register it.",
)


def build_definitions(settings=None) -> dg.Definitions:
    settings = settings or load_settings()
    defs = dg.Definitions(
        assets=[training.training_corpus_spec, training.sensitivity_model_candidate],
        jobs=[training_job],
        resources=cloud_resources(settings),
    )
    return enforce_placement(defs)


defs = build_definitions()
