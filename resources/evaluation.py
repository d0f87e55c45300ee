"""Labelled evaluation files kept on-prem, for the detection_quality asset."""

import dagster as dg
from pydantic import Field


class EvaluationDatasets(dg.ConfigurableResource):
    """Labelled evaluation files that stay on-prem."""

    paths: list[str] = Field(default_factory=list)
