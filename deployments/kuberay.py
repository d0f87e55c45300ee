"""The KubeRay cluster of the on-prem GPU workers, from deployments/kuberay/raycluster.yaml."""

import copy
import re
from pathlib import Path
from typing import Any

import yaml

RAYCLUSTER_MANIFEST = Path(__file__).parent / "kuberay" / "raycluster.yaml"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def raycluster_config(manifest: dict[str, Any]):
    """dagster-ray's RayClusterConfig for a RayCluster manifest (spec keys in snake_case; the
    name is left out so that dagster-ray names each cluster it creates)."""
    from dagster_ray.kuberay.configs import RayClusterConfig, RayClusterSpec

    spec = {_snake(key): copy.deepcopy(value) for key, value in manifest["spec"].items()}
    metadata = {key: value for key, value in manifest["metadata"].items() if key != "name"}
    return RayClusterConfig(metadata=copy.deepcopy(metadata), spec=RayClusterSpec(**spec))


def kuberay_cluster(init_options: dict):
    """The KubeRayCluster resource the edge uses in production."""
    from dagster_ray.kuberay import KubeRayCluster

    manifest = yaml.safe_load(RAYCLUSTER_MANIFEST.read_text())
    return KubeRayCluster(ray_cluster=raycluster_config(manifest), ray_init_options=init_options)
