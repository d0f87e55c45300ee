"""Launches the fine-tuning entry point through Dagster Pipes: subprocess or Kubernetes pod."""

import sys

import dagster as dg
from pydantic import Field

TRAINING_MODULE = "hybrid_pipelines.training"


class TrainingLauncher(dg.ConfigurableResource):
    """Where `python -m hybrid_pipelines.training` runs.

    `subprocess` in the embedded default; `kubernetes` in production, as a pod on the
    cloud cluster through dagster-k8s `PipesK8sClient`.
    """

    mode: str = Field(default="subprocess", description="'subprocess' or 'kubernetes'.")
    image: str = "ghcr.io/hybrid-pipelines/hybrid-pipelines:0.1.0"
    namespace: str = "hybrid-cloud"
    kubeconfig: str | None = None
    kube_context: str | None = None
    gpu_count: int = 1
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[dict] = Field(default_factory=list)
    service_account: str = "hybrid-training"
    aws_secret_name: str = Field(
        default="hybrid-cloud-s3", description="Kubernetes secret with the bucket credentials."
    )

    def command(self) -> list[str]:
        return ["python", "-m", TRAINING_MODULE]

    def pod_spec_config(self) -> dict:
        """The pod spec merged into the one PipesK8sClient builds: GPU, placement, secrets by
        reference (never in clear)."""
        return {
            "service_account_name": self.service_account,
            "node_selector": dict(self.node_selector),
            "tolerations": list(self.tolerations),
            "restart_policy": "Never",
            "containers": [
                {
                    "resources": {"limits": {"nvidia.com/gpu": str(self.gpu_count)}}
                    if self.gpu_count
                    else {},
                    "env_from": [{"secret_ref": {"name": self.aws_secret_name}}],
                }
            ],
        }

    def run(self, context: dg.AssetExecutionContext, extras: dict):
        if self.mode == "subprocess":
            return dg.PipesSubprocessClient().run(
                command=[sys.executable, "-m", TRAINING_MODULE], context=context, extras=extras
            )
        if self.mode == "kubernetes":
            from dagster_k8s import PipesK8sClient

            # Without a kubeconfig the code location runs inside the cloud cluster itself.
            in_cluster = self.kubeconfig is None
            client = PipesK8sClient(
                load_incluster_config=in_cluster,
                kubeconfig_file=None if in_cluster else self.kubeconfig,
                kube_context=None if in_cluster else self.kube_context,
            )
            return client.run(
                context=context,
                image=self.image,
                command=self.command(),
                namespace=self.namespace,
                extras=extras,
                base_pod_spec=self.pod_spec_config(),
            )
        raise ValueError(
            f"unknown training mode {self.mode!r}; set HYBRID_TRAINING_MODE to 'subprocess' "
            "or 'kubernetes'"
        )
