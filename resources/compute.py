"""Local Ray for the embedded default, kept air-gapped."""

from pathlib import Path

from dagster_ray import LocalRay
from pydantic import Field

from hybrid_pipelines.distributed import air_gapped_ray_home


class AirGappedLocalRay(LocalRay):
    """dagster-ray's LocalRay, started so that no Ray process probes cloud metadata."""

    ray_home: str = Field(description="Folder used as HOME by the local Ray processes.")

    def connect(self, context):
        with air_gapped_ray_home(Path(self.ray_home)):
            return super().connect(context)
