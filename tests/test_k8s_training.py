"""Fine-tuning as a Kubernetes pod, without a cluster.

The pod body is built by dagster-k8s's own `build_pod_body` from the `TrainingLauncher`
settings and checked field by field and against the strict Kubernetes schema. Then the
launcher runs through the real `PipesK8sClient` with only the Kubernetes API replaced: a
fake kubelet runs the pod's container command as a local process with the pod's env and
serves its output as the pod log, so Pipes messages travel the production path.
"""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import kubernetes
import kubernetes_validate
import pytest
from dagster._core.pipes.utils import PipesEnvContextInjector, open_pipes_session
from dagster_k8s.pipes import PipesK8sPodLogsMessageReader, build_pod_body
from dagster_k8s.pipes import get_pod_name as k8s_pod_name
from dagster_pipes import (
    DAGSTER_PIPES_CONTEXT_ENV_VAR,
    DAGSTER_PIPES_MESSAGES_ENV_VAR,
    decode_param,
)

from hybrid_pipelines.placement import CLOUD_ANONYMIZED
from hybrid_pipelines.registry import ModelRegistry, ModelStatus
from hybrid_pipelines.stores import CloudStore, DirectoryBackend, EgressGateSigner, records_to_jsonl
from resources.stores import CloudStoreResource
from resources.training import TRAINING_MODULE, TrainingLauncher
from tests.conftest import materialize_as_run

K8S_VERSION = "1.33.0"
SECRET_NAME = "hybrid-cloud-s3"
# What the cluster's secret holds; it must reach the pod by reference only.
SECRET_VALUES = {
    "AWS_ACCESS_KEY_ID": "AKIAFAKEKEYFORTESTS1",
    "AWS_SECRET_ACCESS_KEY": "fake/secret+value/that-must-never-appear-in-a-pod-body",
}
TOLERATIONS = [
    {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "hybrid.io/zone", "operator": "Equal", "value": "cloud", "effect": "NoSchedule"},
]
NODE_SELECTOR = {"hybrid.io/pool": "gpu", "nvidia.com/gpu.product": "NVIDIA-H100"}


def launcher(**overrides) -> TrainingLauncher:
    settings = {
        "mode": "kubernetes",
        "image": "registry.example.internal/hybrid-pipelines:1.2.3",
        "namespace": "hybrid-cloud",
        "gpu_count": 2,
        "node_selector": NODE_SELECTOR,
        "tolerations": TOLERATIONS,
        "aws_secret_name": SECRET_NAME,
    }
    return TrainingLauncher(**{**settings, **overrides})


def env_of(pod) -> dict[str, str]:
    return {variable.name: variable.value for variable in pod.spec.containers[0].env}


def assert_no_secret_in_clear(pod) -> None:
    serialised = json.dumps(kubernetes.client.ApiClient().sanitize_for_serialization(pod))
    for value in SECRET_VALUES.values():
        assert value not in serialised
    for variable in pod.spec.containers[0].env:
        assert variable.value_from is None or variable.value_from.secret_key_ref is not None
        upper = variable.name.upper()
        assert not any(word in upper for word in ("SECRET", "PASSWORD", "TOKEN", "ACCESS_KEY"))


def assert_training_pod(pod, trainer: TrainingLauncher) -> None:
    container = pod.spec.containers[0]
    assert len(pod.spec.containers) == 1 and not pod.spec.init_containers
    assert container.image == trainer.image
    assert container.command == ["python", "-m", TRAINING_MODULE]
    assert container.resources.limits == {"nvidia.com/gpu": str(trainer.gpu_count)}
    assert pod.spec.node_selector == NODE_SELECTOR
    assert [
        {"key": item.key, "operator": item.operator, "value": item.value, "effect": item.effect}
        for item in pod.spec.tolerations
    ] == [{"value": None, **item} for item in TOLERATIONS]
    assert pod.spec.restart_policy == "Never"
    assert pod.spec.service_account_name == trainer.service_account
    # Credentials by reference to the cluster secret, never as values.
    assert [source.secret_ref.name for source in container.env_from] == [SECRET_NAME]
    assert_no_secret_in_clear(pod)
    # The Pipes bootstrap: context inline, messages on stderr (read back from the pod log).
    env = env_of(pod)
    assert set(env) == {DAGSTER_PIPES_CONTEXT_ENV_VAR, DAGSTER_PIPES_MESSAGES_ENV_VAR}
    assert decode_param(env[DAGSTER_PIPES_MESSAGES_ENV_VAR]) == {"stdio": "stderr"}
    # The pod is valid for the API server (strict: no unknown fields).
    document = kubernetes.client.ApiClient().sanitize_for_serialization(pod)
    kubernetes_validate.validate({"apiVersion": "v1", "kind": "Pod", **document}, K8S_VERSION, True)


def pipes_context(pod) -> dict:
    return decode_param(env_of(pod)[DAGSTER_PIPES_CONTEXT_ENV_VAR])["data"]


def test_pod_body_built_as_pipes_k8s_client_builds_it(tmp_path: Path) -> None:
    trainer = launcher()
    store = CloudStoreResource(kind="s3", bucket="models", prefix="hybrid", region_name="eu-west-3")
    extras = {"store": store.spec(), "epochs": 60, "seed": 7}
    built = {}

    @dg.asset(name="sensitivity_model_candidate")
    def candidate(context: dg.AssetExecutionContext):
        # The same steps as PipesK8sClient.run, up to the API call.
        with open_pipes_session(
            context=context,
            extras={**extras, "run_id": context.run_id},
            context_injector=PipesEnvContextInjector(),
            message_reader=PipesK8sPodLogsMessageReader(),
        ) as session:
            built["pod"] = build_pod_body(
                pod_name=k8s_pod_name(context.run_id, context.op.name),
                image=trainer.image,
                command=trainer.command(),
                env_vars=dict(session.get_bootstrap_env_vars()),
                base_pod_meta=None,
                base_pod_spec=trainer.pod_spec_config(),
            )
            built["run_id"] = context.run_id
        # No pod ran: the session ends without reports, as PipesK8sClient.run's would.
        yield from session.get_results()

    assert dg.materialize([candidate]).success
    pod = built["pod"]
    assert_training_pod(pod, trainer)
    assert pod.metadata.name.startswith(f"dagster-{built['run_id'][:18]}-sensitivity-model-ca-")
    assert pod.metadata.labels["app.kubernetes.io/part-of"] == "dagster"

    context = pipes_context(pod)
    assert context["asset_keys"] == ["sensitivity_model_candidate"]
    assert context["run_id"] == built["run_id"]
    assert context["extras"]["store"] == {
        "kind": "s3",
        "bucket": "models",
        "prefix": "hybrid",
        "endpoint_url": None,
        "region": "eu-west-3",
    }


def test_without_gpu_the_pod_requests_none() -> None:
    pod = build_pod_body(
        pod_name="p",
        image="image:1",
        command=launcher().command(),
        env_vars={},
        base_pod_meta=None,
        base_pod_spec=launcher(gpu_count=0).pod_spec_config(),
    )
    assert not (pod.spec.containers[0].resources and pod.spec.containers[0].resources.limits)


class LogResponse:
    """The parts of a urllib3 response that dagster-k8s reads from `read_namespaced_pod_log`."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.data = b"".join(chunks)

    def __iter__(self):
        return iter(self.chunks)

    def stream(self):
        return iter(self.chunks)


class FakeKubelet:
    """Stands in for CoreV1Api: `create_namespaced_pod` runs the first container's command
    as a local process with the pod's env (secret refs resolved from `secrets`), and the
    pod then reads as terminated with that process's output as its log."""

    def __init__(self, secrets: dict[str, dict[str, str]], workdir: Path) -> None:
        self.secrets = secrets
        self.workdir = workdir
        self.created: list[tuple[str, object]] = []
        self.deleted: list[tuple[str, str]] = []
        self.pods: dict[str, tuple[object, int, list[bytes]]] = {}

    def create_namespaced_pod(self, namespace: str, body, **_) -> object:
        self.created.append((namespace, body))
        container = body.spec.containers[0]
        env = {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "HOME": str(self.workdir),
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
        }
        for source in container.env_from or []:
            env.update(self.secrets[source.secret_ref.name])
        env.update({variable.name: variable.value for variable in container.env or []})
        completed = subprocess.run(
            container.command,
            env=env,
            cwd=self.workdir,
            capture_output=True,
            timeout=300,
            check=False,
        )
        started = datetime.now(UTC)
        lines = (completed.stdout + completed.stderr).decode("utf-8", "replace").splitlines()
        chunks = [
            f"{(started + timedelta(microseconds=index)).strftime('%Y-%m-%dT%H:%M:%S.%fZ')} "
            f"{line}\n".encode()
            for index, line in enumerate(lines)
        ]
        self.pods[body.metadata.name] = (body, completed.returncode, chunks)
        return body

    def list_namespaced_pod(self, namespace: str, field_selector: str = "", **_):
        name = field_selector.removeprefix("metadata.name=")
        if name not in self.pods:
            return kubernetes.client.V1PodList(items=[])
        body, exit_code, _ = self.pods[name]
        status = kubernetes.client.V1ContainerStatus(
            name=body.spec.containers[0].name,
            image=body.spec.containers[0].image,
            image_id="",
            ready=False,
            restart_count=0,
            state=kubernetes.client.V1ContainerState(
                terminated=kubernetes.client.V1ContainerStateTerminated(
                    exit_code=exit_code, message=None
                )
            ),
        )
        pod = kubernetes.client.V1Pod(
            metadata=body.metadata, spec=body.spec, status=kubernetes.client.V1PodStatus()
        )
        pod.status.container_statuses = [status]
        return kubernetes.client.V1PodList(items=[pod])

    def read_namespaced_pod_log(self, name: str, namespace: str, **_) -> LogResponse:
        return LogResponse(self.pods[name][2])

    def delete_namespaced_pod(self, name: str, namespace: str, **_) -> None:
        self.deleted.append((namespace, name))


def write_kubeconfig(path: Path) -> Path:
    """A kubeconfig for a cluster that is never contacted (a closed loopback port)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "cloud", "cluster": {"server": "https://127.0.0.1:9"}}],
        "users": [{"name": "trainer", "user": {"token": "not-a-real-token"}}],
        "contexts": [
            {"name": "cloud-training", "context": {"cluster": "cloud", "user": "trainer"}},
            {"name": "other", "context": {"cluster": "cloud", "user": "trainer"}},
        ],
        "current-context": "other",
    }
    path.write_text(json.dumps(config))
    return path


def write_corpus(root: Path) -> None:
    signer = EgressGateSigner(b"g" * 32)
    store = CloudStore(DirectoryBackend(root), signer)
    for day in ("01", "02"):
        records = [
            {
                "doc_id": f"doc-{day}x{number:03d}",
                "text": (
                    f"Patient <PERSON_{number:02d}{day}abcdef> admitted with a cardiac condition"
                    if number % 2
                    else "The cafeteria menu for next week includes soup and salad"
                ),
                "language": "en",
                "entity_type_counts": {"PERSON": 1} if number % 2 else {},
                "label": number % 2,
                "label_source": "document",
            }
            for number in range(10)
        ]
        payload = records_to_jsonl(records)
        store.write(
            "training_corpus",
            CLOUD_ANONYMIZED,
            ["training_corpus", f"2024-01-{day}.jsonl"],
            payload,
            signer.clear("training_corpus", payload),
        )


def test_launcher_runs_the_entry_point_through_pipes_k8s_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assets.training import sensitivity_model_candidate

    cloud_root = tmp_path / "cloud"
    write_corpus(cloud_root)
    kubelet = FakeKubelet({SECRET_NAME: SECRET_VALUES}, tmp_path)
    created_with = []

    def core_api(api_client=None):
        created_with.append(kubernetes.client.Configuration.get_default_copy().host)
        return kubelet

    # Only the Kubernetes API is replaced; config loading, pod building, waiting and log
    # parsing are dagster-k8s's own.
    monkeypatch.setattr(kubernetes.client, "CoreV1Api", core_api)
    for name in SECRET_VALUES:
        monkeypatch.delenv(name, raising=False)

    trainer = launcher(
        kubeconfig=str(write_kubeconfig(tmp_path / "kubeconfig")), kube_context="cloud-training"
    )
    result = materialize_as_run(
        sensitivity_model_candidate,
        resources={
            "cloud": CloudStoreResource(kind="dir", root=str(cloud_root)),
            "trainer": trainer,
        },
        run_config={"ops": {"sensitivity_model_candidate": {"config": {"epochs": 20}}}},
    )
    assert result.success
    assert created_with == ["https://127.0.0.1:9"]  # the configured context was loaded

    [(namespace, pod)] = kubelet.created
    assert namespace == "hybrid-cloud"
    assert_training_pod(pod, trainer)
    assert pod.metadata.name.startswith(f"dagster-{result.run_id[:18]}-sensitivity-model-ca-")
    assert kubelet.deleted == [("hybrid-cloud", pod.metadata.name)]
    context = pipes_context(pod)
    assert context["extras"]["store"] == {"kind": "dir", "root": str(cloud_root.resolve())}
    assert context["extras"]["epochs"] == 20 and context["extras"]["run_id"] == result.run_id

    # The entry point's report came back through the pod log into the asset's metadata.
    metadata = result.asset_materializations_for_node("sensitivity_model_candidate")[0].metadata
    version = metadata["model_version"].value
    assert metadata["corpus_records"].value == 20
    assert metadata["epochs"].value == 20
    assert len(metadata["loss_curve_chart"].value.split("```")[1].strip()) == 20
    registry = ModelRegistry(CloudStore(DirectoryBackend(cloud_root)))
    assert registry.versions() == [version]
    assert registry.status(version) is ModelStatus.CANDIDATE
    assert registry.load(version).card["run_id"] == result.run_id


@pytest.mark.parametrize(
    ("kubeconfig", "expected"),
    [
        (None, {"load_incluster_config": True, "kubeconfig_file": None, "kube_context": None}),
        (
            "/etc/hybrid/kubeconfig",
            {
                "load_incluster_config": False,
                "kubeconfig_file": "/etc/hybrid/kubeconfig",
                "kube_context": "gpu-cloud",
            },
        ),
    ],
)
def test_launcher_connects_in_cluster_unless_given_a_kubeconfig(monkeypatch, kubeconfig, expected):
    """The cloud code location usually runs inside the cluster it launches pods on."""
    import dagster_k8s

    seen = {}

    class Stop(Exception):
        pass

    class RecordingClient:
        def __init__(self, **arguments):
            seen.update(arguments)
            raise Stop

    monkeypatch.setattr(dagster_k8s, "PipesK8sClient", RecordingClient)
    launcher = TrainingLauncher(mode="kubernetes", kubeconfig=kubeconfig, kube_context="gpu-cloud")

    with pytest.raises(Stop):
        launcher.run(context=None, extras={})

    assert seen == expected
