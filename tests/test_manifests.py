"""Strict, offline validation of everything under deployments/.

* Kubernetes built-in kinds: kubernetes-validate's bundled OpenAPI schemas, strict mode
  (unknown fields fail), for the Kubernetes version in ``K8S_VERSION``.
* Custom resources: ``RayCluster`` against the fields dagster-ray's KubeRay config declares
  (its pydantic model is built from the manifest, and a closed JSON schema whose pod templates
  point into the strict Kubernetes definitions); ``ExternalSecret`` against a closed schema of
  the fields used here.
* Helm values: closed schemas of the chart keys we set, plus the properties the deployment
  relies on (module args, node placement, secrets by reference, telemetry, compute logs).
* The embedded ``dagster.yaml``: Dagster's own instance config schema and a real instance.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from importlib_resources import files
from referencing import Registry, Resource

ROOT = Path(__file__).resolve().parents[1]
DEPLOYMENTS = ROOT / "deployments"
HELM = DEPLOYMENTS / "helm"

# Kubernetes minor release the manifests target; kubernetes-validate 1.37 bundles 1.25 to 1.37.
K8S_VERSION = "1.33.0"
K8S_DEFS_ID = "https://kubernetes.io/api/_definitions.json"

# Kinds that are not built in, each with its own validator below.
CUSTOM_KINDS = {("ray.io/v1", "RayCluster"), ("external-secrets.io/v1", "ExternalSecret")}

NAMESPACES = {"dagster", "hybrid-edge", "hybrid-cloud"}
ZONE = "hybrid.io/zone"


# --------------------------------------------------------------------------- loading


def manifest_files() -> list[Path]:
    """All YAML under deployments/ except the Helm values and dagster.yaml."""
    paths = sorted({*DEPLOYMENTS.rglob("*.yaml"), *DEPLOYMENTS.rglob("*.yml")})
    return [p for p in paths if HELM not in p.parents and p.name != "dagster.yaml"]


def load_documents(path: Path) -> list[dict[str, Any]]:
    with path.open() as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    assert docs, f"{path} holds no YAML document"
    return docs


def all_manifests() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in manifest_files():
        for doc in load_documents(path):
            rel = path.relative_to(ROOT)
            out.append((f"{rel}:{doc.get('kind')}/{doc.get('metadata', {}).get('name')}", doc))
    return out


def load_values(name: str) -> dict[str, Any]:
    with (HELM / name).open() as f:
        return yaml.safe_load(f)


MANIFESTS = all_manifests()


def by_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for _, doc in MANIFESTS if doc.get("kind") == kind]


# --------------------------------------------------------------------------- schemas


def _k8s_definitions() -> dict[str, Any]:
    ref = files("kubernetes_validate").joinpath(
        f"kubernetes-json-schema/v{K8S_VERSION}-local-strict/_definitions.json"
    )
    return json.loads(ref.read_text())


_REGISTRY: Registry = Resource.from_contents(_k8s_definitions()) @ Registry()


def k8s_ref(name: str) -> dict[str, str]:
    """A $ref to a strict Kubernetes definition, e.g. ``k8s_ref("core.v1.PodTemplateSpec")``."""
    return {"$ref": f"{K8S_DEFS_ID}#/$defs/io.k8s.api.{name}"}


def closed(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


def check_schema(instance: Any, schema: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError on the first violation."""
    validator = jsonschema.Draft202012Validator(schema, registry=_REGISTRY)
    error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    if error is not None:
        raise error


STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
METADATA = closed(
    {
        "name": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
        "namespace": {"enum": sorted(NAMESPACES)},
        "labels": STRING_MAP,
        "annotations": STRING_MAP,
    },
    required=("name", "namespace"),
)

# KubeRay ray.io/v1 RayCluster, restricted to fields that dagster-ray 0.4.8's RayClusterSpec
# declares (camelCase as in the CRD). Pod templates are strict Kubernetes PodTemplateSpecs.
RAY_START_PARAMS = STRING_MAP
HEAD_GROUP = closed(
    {
        "serviceType": {"enum": ["ClusterIP", "NodePort", "LoadBalancer"]},
        "rayStartParams": RAY_START_PARAMS,
        "template": k8s_ref("core.v1.PodTemplateSpec"),
        "enableIngress": {"type": "boolean"},
    },
    required=("rayStartParams", "template"),
)
WORKER_GROUP = closed(
    {
        "groupName": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
        "replicas": {"type": "integer", "minimum": 0},
        "minReplicas": {"type": "integer", "minimum": 0},
        "maxReplicas": {"type": "integer", "minimum": 1},
        "idleTimeoutSeconds": {"type": "integer", "minimum": 0},
        "numOfHosts": {"type": "integer", "minimum": 1},
        "suspend": {"type": "boolean"},
        "rayStartParams": RAY_START_PARAMS,
        "template": k8s_ref("core.v1.PodTemplateSpec"),
    },
    required=("groupName", "maxReplicas", "rayStartParams", "template"),
)
AUTOSCALER_OPTIONS = closed(
    {
        "upscalingMode": {"enum": ["Default", "Aggressive", "Conservative"]},
        "idleTimeoutSeconds": {"type": "integer", "minimum": 0},
        "image": {"type": "string"},
        "imagePullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]},
        "resources": k8s_ref("core.v1.ResourceRequirements"),
        "env": {"type": "array", "items": k8s_ref("core.v1.EnvVar")},
        "envFrom": {"type": "array", "items": k8s_ref("core.v1.EnvFromSource")},
        "securityContext": k8s_ref("core.v1.SecurityContext"),
        "version": {"enum": ["v1", "v2"]},
    }
)
RAYCLUSTER_SCHEMA = closed(
    {
        "apiVersion": {"const": "ray.io/v1"},
        "kind": {"const": "RayCluster"},
        "metadata": METADATA,
        "spec": closed(
            {
                "rayVersion": {"type": "string", "pattern": r"^\d+\.\d+\.\d+$"},
                "enableInTreeAutoscaling": {"type": "boolean"},
                "autoscalerOptions": AUTOSCALER_OPTIONS,
                "headServiceAnnotations": STRING_MAP,
                "suspend": {"type": "boolean"},
                "headGroupSpec": HEAD_GROUP,
                "workerGroupSpecs": {"type": "array", "minItems": 1, "items": WORKER_GROUP},
            },
            required=("rayVersion", "headGroupSpec", "workerGroupSpecs"),
        ),
    },
    required=("apiVersion", "kind", "metadata", "spec"),
)

# external-secrets.io/v1 ExternalSecret: only references (store, Vault path, property).
EXTERNAL_SECRET_SCHEMA = closed(
    {
        "apiVersion": {"const": "external-secrets.io/v1"},
        "kind": {"const": "ExternalSecret"},
        "metadata": METADATA,
        "spec": closed(
            {
                "refreshInterval": {"type": "string", "pattern": r"^\d+[smh]$"},
                "secretStoreRef": closed(
                    {
                        "kind": {"enum": ["SecretStore", "ClusterSecretStore"]},
                        "name": {"type": "string"},
                    },
                    required=("kind", "name"),
                ),
                "target": closed(
                    {
                        "name": {"type": "string"},
                        "creationPolicy": {"enum": ["Owner", "Orphan", "Merge", "None"]},
                    },
                    required=("name",),
                ),
                "data": {
                    "type": "array",
                    "minItems": 1,
                    "items": closed(
                        {
                            "secretKey": {"type": "string"},
                            "remoteRef": closed(
                                {"key": {"type": "string"}, "property": {"type": "string"}},
                                required=("key", "property"),
                            ),
                        },
                        required=("secretKey", "remoteRef"),
                    ),
                },
            },
            required=("secretStoreRef", "target", "data"),
        ),
    },
    required=("apiVersion", "kind", "metadata", "spec"),
)

CUSTOM_SCHEMAS = {"RayCluster": RAYCLUSTER_SCHEMA, "ExternalSecret": EXTERNAL_SECRET_SCHEMA}


def validate_manifest(doc: dict[str, Any]) -> None:
    """Validate one document strictly; raises on any unknown field or wrong type."""
    key = (doc.get("apiVersion"), doc.get("kind"))
    if key in CUSTOM_KINDS:
        check_schema(doc, CUSTOM_SCHEMAS[doc["kind"]])
    else:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


# --------------------------------------------------------------------------- manifests


def test_manifests_found() -> None:
    kinds = {doc["kind"] for _, doc in MANIFESTS}
    assert {"Namespace", "NetworkPolicy", "RayCluster", "ExternalSecret", "Role"} <= kinds


@pytest.mark.parametrize(("where", "doc"), MANIFESTS, ids=[w for w, _ in MANIFESTS])
def test_manifest_is_strictly_valid(where: str, doc: dict[str, Any]) -> None:
    assert doc["metadata"].get("namespace", "dagster") in NAMESPACES, where
    validate_manifest(doc)


def test_kubernetes_version_is_bundled() -> None:
    assert K8S_VERSION.rsplit(".", 1)[0] in {
        v.rsplit(".", 1)[0] for v in kubernetes_validate.utils.all_versions()
    }


@pytest.mark.parametrize(
    ("kind", "path", "typo"),
    [
        ("NetworkPolicy", ["spec", "podSelector"], "podSelectr"),
        ("Namespace", ["metadata", "labels"], "lables"),
        ("Role", ["rules"], "rulez"),
        ("RayCluster", ["spec", "headGroupSpec", "rayStartParams"], "rayStartParam"),
        ("RayCluster", ["spec", "rayVersion"], "rayversion"),
        # Inside the pod template of a custom resource, Kubernetes strictness still applies.
        (
            "RayCluster",
            ["spec", "workerGroupSpecs", 0, "template", "spec", "nodeSelector"],
            "nodeSelectr",
        ),
        ("ExternalSecret", ["spec", "secretStoreRef"], "secretStoreRefs"),
    ],
)
def test_a_misspelt_field_fails(kind: str, path: list[str | int], typo: str) -> None:
    doc = copy.deepcopy(by_kind(kind)[0])
    validate_manifest(doc)
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    parent[typo] = parent.pop(path[-1])
    with pytest.raises(jsonschema.ValidationError):
        validate_manifest(doc)


# --------------------------------------------------------------------------- NetworkPolicy


def edge_policies() -> list[dict[str, Any]]:
    return [p for p in by_kind("NetworkPolicy") if p["metadata"]["namespace"] == "hybrid-edge"]


def test_edge_namespace_is_default_deny() -> None:
    deny = [
        p
        for p in edge_policies()
        if p["spec"]["podSelector"] == {}
        and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
    ]
    assert deny, "hybrid-edge needs a default-deny policy for all pods"


def test_edge_egress_is_limited_to_known_destinations() -> None:
    """Every egress rule targets DNS, the namespace itself, the control plane or an ipBlock."""
    ip_ports: set[int] = set()
    namespaces: dict[str, set[int]] = {}
    for policy in edge_policies():
        for rule in policy["spec"].get("egress", []):
            ports = {p["port"] for p in rule.get("ports", [])}
            assert rule.get("to"), f"{policy['metadata']['name']}: egress to anywhere"
            for peer in rule["to"]:
                if "ipBlock" in peer:
                    assert "except" not in peer["ipBlock"]
                    assert not peer["ipBlock"]["cidr"].endswith("/0"), "egress to the internet"
                    ip_ports |= ports
                elif "namespaceSelector" in peer:
                    ns = peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                    namespaces.setdefault(ns, set()).update(ports)
                else:
                    assert set(peer) == {"podSelector"}, "only same-namespace pod peers"
    assert ip_ports <= {443, 6443}
    assert namespaces == {"kube-system": {53}, "dagster": {5432}}


def test_control_plane_reaches_the_edge_code_server() -> None:
    rules = [r for p in edge_policies() for r in p["spec"].get("ingress", [])]
    assert any(
        peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
        == "dagster"
        and {p["port"] for p in r.get("ports", [])} == {3030}
        for r in rules
        for peer in r.get("from", [])
    )


# --------------------------------------------------------------------------- RayCluster


from deployments.kuberay import raycluster_config  # noqa: E402 - the code under test


@pytest.fixture(scope="module")
def raycluster() -> dict[str, Any]:
    (cluster,) = by_kind("RayCluster")
    return cluster


def test_raycluster_uses_only_fields_dagster_ray_declares(raycluster: dict[str, Any]) -> None:
    config = raycluster_config(raycluster)
    # RayClusterSpec is permissive: an unknown field would land in model_extra and be passed
    # through silently. None may be there.
    assert not config.spec.model_extra
    assert config.namespace == "hybrid-edge"


def test_raycluster_round_trips_through_dagster_ray(raycluster: dict[str, Any]) -> None:
    """What dagster-ray would submit is the manifest, and it is still strictly valid."""
    context = SimpleNamespace(log=logging.getLogger("test_manifests"))
    rendered = raycluster_config(raycluster).to_k8s(
        context, image="registry.invalid/not-used:0", labels={"dagster/run-id": "abc"}
    )
    assert rendered["spec"] == raycluster["spec"]
    assert rendered["apiVersion"] == "ray.io/v1"
    rendered["metadata"]["namespace"] = raycluster["metadata"]["namespace"]
    # dagster-ray names each cluster it creates; the manifest's name is a template only.
    rendered["metadata"].setdefault("name", raycluster["metadata"]["name"])
    check_schema(rendered, RAYCLUSTER_SCHEMA)


def test_raycluster_typo_reaches_model_extra(raycluster: dict[str, Any]) -> None:
    doc = copy.deepcopy(raycluster)
    doc["spec"]["workerGroupSpec"] = doc["spec"].pop("workerGroupSpecs")
    assert raycluster_config(doc).spec.model_extra


def test_raycluster_gpu_workers_on_prem(raycluster: dict[str, Any]) -> None:
    head = raycluster["spec"]["headGroupSpec"]["template"]["spec"]
    assert head["nodeSelector"][ZONE] == "on-prem"
    assert head["containers"][0].get("image"), "dagster-ray only injects an image when empty"
    gpu_groups = []
    for group in raycluster["spec"]["workerGroupSpecs"]:
        pod = group["template"]["spec"]
        assert pod["nodeSelector"][ZONE] == "on-prem"
        assert pod["containers"][0].get("image")
        assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]
        limits = pod["containers"][0]["resources"]["limits"]
        if "nvidia.com/gpu" in limits:
            gpu_groups.append(group["groupName"])
            tolerated = {t["key"] for t in pod["tolerations"]}
            assert "nvidia.com/gpu" in tolerated
    assert gpu_groups


def test_raycluster_version_matches_installed_ray(raycluster: dict[str, Any]) -> None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version("ray")
    except PackageNotFoundError:
        pytest.skip("ray is not installed")
    assert raycluster["spec"]["rayVersion"] == installed


# --------------------------------------------------------------------------- Helm values

IMAGE = closed(
    {
        "repository": {"type": "string"},
        "tag": {"type": "string"},
        "pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]},
    },
    required=("repository", "tag"),
)
SECRET_REFS = {
    "type": "array",
    "items": closed({"name": {"type": "string", "minLength": 1}}, required=("name",)),
}
TOLERATIONS = {"type": "array", "items": k8s_ref("core.v1.Toleration")}
NODE_SELECTOR = STRING_MAP
POD_PLACEMENT = {
    "nodeSelector": NODE_SELECTOR,
    "tolerations": TOLERATIONS,
    "affinity": k8s_ref("core.v1.Affinity"),
    "resources": k8s_ref("core.v1.ResourceRequirements"),
    "podSecurityContext": k8s_ref("core.v1.PodSecurityContext"),
    "securityContext": k8s_ref("core.v1.SecurityContext"),
}
ENV_LIST = {"type": "array", "items": k8s_ref("core.v1.EnvVar")}

# Keys of the chart's UserDeployment model (dagster-user-deployments chart 1.13.x).
USER_DEPLOYMENT = closed(
    {
        "name": {"type": "string"},
        "image": IMAGE,
        "dagsterApiGrpcArgs": {"type": "array", "items": {"type": "string"}},
        "codeServerArgs": {"type": "array", "items": {"type": "string"}},
        "includeConfigInLaunchedRuns": closed({"enabled": {"type": "boolean"}}),
        "port": {"type": "integer"},
        "env": ENV_LIST,
        "envConfigMaps": SECRET_REFS,
        "envSecrets": SECRET_REFS,
        "annotations": STRING_MAP,
        "labels": STRING_MAP,
        "volumes": {"type": "array", "items": k8s_ref("core.v1.Volume")},
        "volumeMounts": {"type": "array", "items": k8s_ref("core.v1.VolumeMount")},
        "replicaCount": {"type": "integer"},
        "schedulerName": {"type": "string"},
        **POD_PLACEMENT,
    },
    required=("name", "image", "dagsterApiGrpcArgs", "port"),
)
GLOBAL = closed(
    {
        "postgresqlSecretName": {"type": "string", "minLength": 1},
        "dagsterHome": {"type": "string"},
        "serviceAccountName": {"type": "string"},
        "celeryConfigSecretName": {"type": "string"},
    },
    required=("postgresqlSecretName",),
)
SERVICE_ACCOUNT = closed(
    {"create": {"type": "boolean"}, "name": {"type": "string"}, "annotations": STRING_MAP}
)
USER_VALUES = closed(
    {
        "global": GLOBAL,
        "serviceAccount": SERVICE_ACCOUNT,
        "deployments": {"type": "array", "minItems": 1, "maxItems": 1, "items": USER_DEPLOYMENT},
    },
    required=("global", "deployments"),
)
CONTROL_POD = {
    "replicaCount": {"type": "integer"},
    "image": IMAGE,
    "env": ENV_LIST,
    "envConfigMaps": SECRET_REFS,
    "envSecrets": SECRET_REFS,
    "annotations": STRING_MAP,
    "labels": STRING_MAP,
    **POD_PLACEMENT,
}
CONTROL_VALUES = closed(
    {
        "global": GLOBAL,
        "serviceAccount": SERVICE_ACCOUNT,
        "generatePostgresqlPasswordSecret": {"const": False},
        "postgresql": closed(
            {
                "enabled": {"type": "boolean"},
                "image": IMAGE,
                "postgresqlHost": {"type": "string"},
                "postgresqlUsername": {"type": "string"},
                "postgresqlPassword": {"const": ""},
                "postgresqlDatabase": {"type": "string"},
                "postgresqlParams": STRING_MAP,
                "postgresqlScheme": {"type": "string"},
                "service": closed({"port": {"type": "integer"}}),
            },
            required=("enabled", "postgresqlHost", "postgresqlPassword"),
        ),
        "telemetry": closed({"enabled": {"const": False}}, required=("enabled",)),
        "dagsterWebserver": closed(
            {
                **CONTROL_POD,
                "workspace": closed(
                    {
                        "enabled": {"type": "boolean"},
                        "servers": {
                            "type": "array",
                            "items": closed(
                                {
                                    "host": {"type": "string"},
                                    "port": {"type": "integer"},
                                    "name": {"type": "string"},
                                    "ssl": {"type": "boolean"},
                                },
                                required=("host", "port", "name"),
                            ),
                        },
                    }
                ),
            }
        ),
        "dagsterDaemon": closed(
            {
                **CONTROL_POD,
                "enabled": {"type": "boolean"},
                "runCoordinator": {"type": "object"},
            }
        ),
        "dagster-user-deployments": closed(
            {
                "enabled": {"type": "boolean"},
                "enableSubchart": {"type": "boolean"},
                "deployments": {"type": "array", "items": USER_DEPLOYMENT},
            }
        ),
        "runLauncher": closed(
            {
                "type": {"const": "K8sRunLauncher"},
                "config": closed(
                    {
                        "k8sRunLauncher": closed(
                            {
                                "imagePullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]},
                                "jobNamespace": {"type": "string"},
                                "loadInclusterConfig": {"type": "boolean"},
                                "envConfigMaps": SECRET_REFS,
                                "envSecrets": SECRET_REFS,
                                "runK8sConfig": closed(
                                    {
                                        "containerConfig": {"type": "object"},
                                        "podSpecConfig": {"type": "object"},
                                        "podTemplateSpecMetadata": {"type": "object"},
                                        "jobSpecConfig": {"type": "object"},
                                        "jobMetadata": {"type": "object"},
                                    }
                                ),
                            }
                        )
                    }
                ),
            }
        ),
        "computeLogManager": closed(
            {
                "type": {"const": "S3ComputeLogManager"},
                "config": closed(
                    {
                        "s3ComputeLogManager": closed(
                            {
                                "bucket": {"type": "string"},
                                "localDir": {"type": "string"},
                                "prefix": {"type": "string"},
                                "useSsl": {"const": True},
                                "verify": {"const": True},
                                "verifyCertPath": {"type": "string"},
                                "endpointUrl": {"type": "string", "pattern": "^https://"},
                                "skipEmptyFiles": {"type": "boolean"},
                                "uploadInterval": {"type": "integer"},
                                "showUrlOnly": {"type": "boolean"},
                                "region": {"type": "string"},
                            },
                            required=("bucket", "endpointUrl"),
                        )
                    }
                ),
            }
        ),
        "retention": {"type": "object"},
    },
    required=(
        "global",
        "postgresql",
        "telemetry",
        "dagsterWebserver",
        "dagsterDaemon",
        "runLauncher",
        "computeLogManager",
    ),
)

LOCATIONS = {
    "edge": ("values-user-edge.yaml", "hybrid-edge", "on-prem"),
    "cloud": ("values-user-cloud.yaml", "hybrid-cloud", "cloud"),
}


def user_deployment(location: str) -> dict[str, Any]:
    (deployment,) = load_values(LOCATIONS[location][0])["deployments"]
    return deployment


def env_of(deployment: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in deployment.get("env", []) if "value" in e}


def test_control_plane_values_schema() -> None:
    check_schema(load_values("values-dagster.yaml"), CONTROL_VALUES)


@pytest.mark.parametrize("location", sorted(LOCATIONS))
def test_user_values_schema(location: str) -> None:
    check_schema(load_values(LOCATIONS[location][0]), USER_VALUES)


def test_helm_values_typo_fails() -> None:
    values = load_values("values-user-edge.yaml")
    values["deployments"][0]["nodeSelecter"] = values["deployments"][0].pop("nodeSelector")
    with pytest.raises(jsonschema.ValidationError):
        check_schema(values, USER_VALUES)


@pytest.mark.parametrize("location", sorted(LOCATIONS))
def test_user_deployment_module_and_placement(location: str) -> None:
    deployment = user_deployment(location)
    zone = LOCATIONS[location][2]
    assert deployment["name"] == location
    assert deployment["dagsterApiGrpcArgs"] == ["-m", f"deployments.{location}"]
    assert deployment["nodeSelector"][ZONE] == zone
    assert deployment["tolerations"]
    # Run pods inherit namespace, env and secrets from the code location.
    assert deployment["includeConfigInLaunchedRuns"]["enabled"] is True


def test_workspace_points_at_both_code_servers() -> None:
    servers = load_values("values-dagster.yaml")["dagsterWebserver"]["workspace"]["servers"]
    expected = {
        name: (f"{name}.{ns}.svc.cluster.local", user_deployment(name)["port"])
        for name, (_, ns, _) in LOCATIONS.items()
    }
    assert {s["name"]: (s["host"], s["port"]) for s in servers} == expected


def test_edge_keys_only_reach_the_edge() -> None:
    def secrets(location: str) -> set[str]:
        return {s["name"] for s in user_deployment(location).get("envSecrets", [])}

    assert "hybrid-edge-keys" in secrets("edge")
    assert "hybrid-edge-keys" not in secrets("cloud")
    for es in by_kind("ExternalSecret"):
        keys = {d["secretKey"] for d in es["spec"]["data"]}
        if keys & {"HYBRID_PSEUDONYM_KEY", "HYBRID_GATE_KEY", "HYBRID_AT_REST_KEY"}:
            assert es["metadata"]["namespace"] == "hybrid-edge"


def test_secrets_referenced_by_values_are_synced() -> None:
    synced = {
        (es["metadata"]["namespace"], es["spec"]["target"]["name"])
        for es in by_kind("ExternalSecret")
    }
    control = load_values("values-dagster.yaml")
    wanted = {("dagster", control["global"]["postgresqlSecretName"])}
    for section in ("dagsterWebserver", "dagsterDaemon"):
        wanted |= {("dagster", s["name"]) for s in control[section].get("envSecrets", [])}
    for location, (file, ns, _) in LOCATIONS.items():
        wanted.add((ns, load_values(file)["global"]["postgresqlSecretName"]))
        wanted |= {(ns, s["name"]) for s in user_deployment(location).get("envSecrets", [])}
    assert wanted <= synced


def test_compute_logs_stay_on_prem() -> None:
    control = load_values("values-dagster.yaml")
    s3 = control["computeLogManager"]["config"]["s3ComputeLogManager"]
    cloud_buckets = {env_of(user_deployment(loc)).get("HYBRID_S3_BUCKET") for loc in LOCATIONS}
    cloud_endpoints = {
        env_of(user_deployment(loc)).get("HYBRID_S3_ENDPOINT_URL") for loc in LOCATIONS
    }
    assert s3["bucket"] not in cloud_buckets
    assert s3["endpointUrl"] not in cloud_endpoints
    assert "amazonaws.com" not in s3["endpointUrl"]
    # and the run launcher's default placement is on-prem (fail closed)
    pod_spec = control["runLauncher"]["config"]["k8sRunLauncher"]["runK8sConfig"]["podSpecConfig"]
    assert pod_spec["nodeSelector"][ZONE] == "on-prem"


def test_control_plane_settings() -> None:
    control = load_values("values-dagster.yaml")
    assert control["telemetry"]["enabled"] is False
    assert control["postgresql"]["postgresqlPassword"] == ""
    assert control["generatePostgresqlPasswordSecret"] is False
    assert control["dagster-user-deployments"]["enableSubchart"] is False


def test_training_pod_settings_parse() -> None:
    env = env_of(user_deployment("cloud"))
    selector = json.loads(env["HYBRID_TRAINING_NODE_SELECTOR"])
    check_schema(selector, NODE_SELECTOR)
    assert selector[ZONE] == "cloud"
    tolerations = json.loads(env["HYBRID_TRAINING_TOLERATIONS"])
    check_schema(tolerations, TOLERATIONS)
    assert env["HYBRID_TRAINING_MODE"] == "kubernetes"
    assert int(env["HYBRID_TRAINING_GPU"]) >= 1
    assert env["HYBRID_TRAINING_IMAGE"].rsplit(":", 1)[1] not in {"", "latest"}


# --------------------------------------------------------------------------- secrets in clear

SENSITIVE_NAME = re.compile(
    r"(password|passwd|secret|token|credential|private|hmac|[a-z_]key)$", re.IGNORECASE
)
# Keys whose value names a Secret (a reference), not a secret value.
REFERENCE_KEY = re.compile(r"(secretName|SecretName|secretKey|secretKeyRef|secretRef|Secrets)$")


def walk(node: Any, path: str = "") -> Iterator[tuple[str, str, Any, dict[str, Any]]]:
    """Yield (path of the parent, key, value, parent mapping) for every mapping entry."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield path, str(key), value, node
            yield from walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from walk(item, f"{path}[{i}]")


def secret_findings(doc: Any) -> list[str]:
    found = []
    for path, key, value, parent in walk(doc):
        if value in (None, "", [], {}) or isinstance(value, bool) or REFERENCE_KEY.search(key):
            continue
        if SENSITIVE_NAME.search(key):
            found.append(f"{path}.{key}")
        # env entries: a sensitive variable must come from valueFrom/envFrom, never `value`
        if key == "value" and SENSITIVE_NAME.search(str(parent.get("name", ""))):
            found.append(f"{path}.value")
    return found


def yaml_docs() -> list[tuple[str, Any]]:
    out = []
    for path in sorted(DEPLOYMENTS.rglob("*.yaml")):
        for doc in load_documents(path):
            out.append((str(path.relative_to(ROOT)), doc))
    return out


@pytest.mark.parametrize(("where", "doc"), yaml_docs(), ids=[w for w, _ in yaml_docs()])
def test_no_secret_values(where: str, doc: Any) -> None:
    assert secret_findings(doc) == [], where


def test_no_secret_looking_text_anywhere() -> None:
    patterns = [
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
        re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
        re.compile(r"\bkind:\s*Secret\b"),  # Secrets come from External Secrets, not files
    ]
    for path in [*DEPLOYMENTS.rglob("*.yaml"), ROOT / "docs" / "deploy.md"]:
        if path.exists():
            text = path.read_text()
            for pattern in patterns:
                assert not pattern.search(text), f"{path}: {pattern.pattern}"


def test_secret_scan_catches_a_literal() -> None:
    values = load_values("values-dagster.yaml")
    values["postgresql"]["postgresqlPassword"] = "hunter2"
    assert secret_findings(values) == [".postgresql.postgresqlPassword"]
    deployment = user_deployment("edge")
    deployment["env"].append({"name": "HYBRID_PSEUDONYM_KEY", "value": "abc"})
    assert secret_findings(deployment)


# --------------------------------------------------------------------------- dagster.yaml


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DEPLOYMENTS / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def test_dagster_yaml_matches_instance_schema(dagster_home: Path) -> None:
    from dagster._core.instance.config import dagster_instance_config

    config, _custom_class = dagster_instance_config(str(dagster_home))
    assert config["telemetry"]["enabled"] is False
    assert set(config["storage"]) == {"sqlite"}


def test_dagster_yaml_builds_a_local_instance(dagster_home: Path) -> None:
    from dagster import DagsterInstance
    from dagster._core.launcher import DefaultRunLauncher
    from dagster._core.run_coordinator import QueuedRunCoordinator
    from dagster._core.storage.local_compute_log_manager import LocalComputeLogManager

    with DagsterInstance.from_config(str(dagster_home)) as instance:
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        assert instance.run_coordinator.get_run_queue_config().max_concurrent_runs == 2
        assert isinstance(instance.run_launcher, DefaultRunLauncher)
        assert isinstance(instance.compute_log_manager, LocalComputeLogManager)
        assert instance.telemetry_enabled is False
        assert not instance.is_ephemeral
    assert any(p.suffix == ".db" for p in dagster_home.rglob("*")), "SQLite lives in DAGSTER_HOME"


def test_dagster_yaml_typo_fails(dagster_home: Path) -> None:
    from dagster._core.errors import DagsterInvalidConfigError
    from dagster._core.instance.config import dagster_instance_config

    text = (dagster_home / "dagster.yaml").read_text().replace("telemetry:", "telemetri:")
    (dagster_home / "dagster.yaml").write_text(text)
    with pytest.raises(DagsterInvalidConfigError):
        dagster_instance_config(str(dagster_home))
