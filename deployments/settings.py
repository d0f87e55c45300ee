"""Configuration from the environment, read in this one module.

Embedded default: everything under HYBRID_HOME (on-prem side in `onprem/`, the cloud
bucket stand-in in `cloud/`, the Dagster instance in `dagster/`), local Ray, training as a
subprocess, keys generated once into `onprem/keys/`. Production sets the variables below
(see docs/deploy.md), typically from Kubernetes secrets synced from a secrets manager.
"""

import base64
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hybrid_pipelines.crypto import load_or_create_key

DEFAULT_HOME = Path(".hybrid_home")


KEY_VARIABLES = {
    "pseudonym": "HYBRID_PSEUDONYM_KEY",
    "gate": "HYBRID_GATE_KEY",
    "at_rest": "HYBRID_AT_REST_KEY",
}


def _generate_key_file(name: str, path: Path) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    if name == "at_rest":
        load_or_create_key(path)
        return
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(base64.urlsafe_b64encode(secrets.token_bytes(32)))


def key_reference(env: Mapping[str, str], name: str, key_folder: Path) -> str:
    """Where a key is, never the key: the environment variable if set, else the Vault field
    if Vault is configured, else a key file generated once (embedded default)."""
    variable = KEY_VARIABLES[name]
    if env.get(variable):
        return f"env:{variable}"
    if env.get("HYBRID_VAULT_ADDR"):
        mount = env.get("HYBRID_VAULT_MOUNT", "secret")
        path = env.get("HYBRID_VAULT_PATH", "hybrid-pipelines/edge")
        return f"vault:{mount}/{path}#{name}_key"
    key_file = key_folder / f"{name}.key"
    _generate_key_file(name, key_file)
    return f"file:{key_file}"


@dataclass(frozen=True)
class Settings:
    home: Path
    inbox: Path
    pseudonym_key_ref: str
    gate_key_ref: str
    at_rest_key_ref: str
    cloud_store: str = "dir"
    s3_bucket: str | None = None
    s3_prefix: str = ""
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_access_key_id_ref: str | None = None
    s3_secret_access_key_ref: str | None = None
    ray_backend: str = "local"
    ray_num_cpus: int | None = None
    training_mode: str = "subprocess"
    training_image: str = "ghcr.io/hybrid-pipelines/hybrid-pipelines:0.1.0"
    training_gpu: int = 1
    training_node_selector: dict = field(default_factory=dict)
    training_tolerations: list = field(default_factory=list)
    eval_datasets: tuple[Path, ...] = ()
    token_model_dir: Path | None = None
    token_model_required: bool = False
    kubeconfig: str | None = None
    kube_context: str | None = None

    @property
    def onprem_root(self) -> Path:
        return self.home / "onprem"

    @property
    def cloud_root(self) -> Path:
        return self.home / "cloud"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"


def load_settings(home: Path | None = None, inbox: Path | None = None) -> Settings:
    env = os.environ
    home = Path(home or env.get("HYBRID_HOME") or DEFAULT_HOME).resolve()
    keys = home / "onprem" / "keys"
    return Settings(
        home=home,
        inbox=Path(inbox or env.get("HYBRID_INBOX") or home / "inbox").resolve(),
        pseudonym_key_ref=key_reference(env, "pseudonym", keys),
        gate_key_ref=key_reference(env, "gate", keys),
        at_rest_key_ref=key_reference(env, "at_rest", keys),
        cloud_store=env.get("HYBRID_CLOUD_STORE", "dir"),
        s3_bucket=env.get("HYBRID_S3_BUCKET"),
        s3_prefix=env.get("HYBRID_S3_PREFIX", ""),
        s3_endpoint_url=env.get("HYBRID_S3_ENDPOINT_URL") or env.get("AWS_ENDPOINT_URL"),
        s3_region=env.get("HYBRID_S3_REGION") or env.get("AWS_REGION"),
        s3_access_key_id_ref="env:HYBRID_S3_ACCESS_KEY_ID"
        if env.get("HYBRID_S3_ACCESS_KEY_ID")
        else None,
        s3_secret_access_key_ref="env:HYBRID_S3_SECRET_ACCESS_KEY"
        if env.get("HYBRID_S3_SECRET_ACCESS_KEY")
        else None,
        ray_backend=env.get("HYBRID_RAY_BACKEND", "local"),
        ray_num_cpus=int(env["HYBRID_RAY_NUM_CPUS"]) if env.get("HYBRID_RAY_NUM_CPUS") else None,
        training_mode=env.get("HYBRID_TRAINING_MODE", "subprocess"),
        training_image=env.get(
            "HYBRID_TRAINING_IMAGE", "ghcr.io/hybrid-pipelines/hybrid-pipelines:0.1.0"
        ),
        training_gpu=int(env.get("HYBRID_TRAINING_GPU", "1")),
        training_node_selector=json.loads(env.get("HYBRID_TRAINING_NODE_SELECTOR", "{}")),
        training_tolerations=json.loads(env.get("HYBRID_TRAINING_TOLERATIONS", "[]")),
        eval_datasets=tuple(
            Path(item) for item in env.get("HYBRID_EVAL_DATASETS", "").split(os.pathsep) if item
        ),
        token_model_dir=Path(
            env.get("HYBRID_TOKEN_MODEL") or home / "onprem" / "models" / "token_model"
        ).resolve(),
        token_model_required=bool(env.get("HYBRID_TOKEN_MODEL")),
        kubeconfig=env.get("HYBRID_K8S_KUBECONFIG"),
        kube_context=env.get("HYBRID_K8S_CONTEXT"),
    )
