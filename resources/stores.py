"""Placement-aware stores as Dagster resources: the on-prem disk and the cloud bucket."""

from pathlib import Path

import dagster as dg
from pydantic import Field

from hybrid_pipelines.audit import EgressAudit
from hybrid_pipelines.crypto import AtRestCipher
from hybrid_pipelines.s3 import S3Backend
from hybrid_pipelines.stores import CloudStore, DirectoryBackend, EgressGateSigner, OnPremStore


class OnPremStoreResource(dg.ConfigurableResource):
    """Encrypted asset records, the egress audit and the edge model, inside the perimeter."""

    root: str = Field(description="Folder on on-prem storage.")
    at_rest_key_ref: str = Field(
        description="Reference to the Fernet key for encryption at "
        "rest (env:NAME, file:PATH or vault:MOUNT/PATH#FIELD)."
    )

    def store(self) -> OnPremStore:
        from resources.keys import resolve_secret

        key = resolve_secret(self.at_rest_key_ref, "the at-rest key")
        return OnPremStore(Path(self.root), AtRestCipher(key))

    def audit(self) -> EgressAudit:
        return EgressAudit(Path(self.root) / "egress_audit.jsonl")

    @property
    def inbox_state_path(self) -> Path:
        return Path(self.root) / "state"


class InboxResource(dg.ConfigurableResource):
    """The on-prem folder where new documents arrive."""

    path: str = Field(description="Inbox folder; dated sub-folders name the partition.")


class CloudStoreResource(dg.ConfigurableResource):
    """The cloud bucket: a local folder in the embedded default, S3 through dagster-aws in
    production. Every write goes through the placement guard of `CloudStore`."""

    kind: str = Field(default="dir", description="'dir' (a local folder) or 's3'.")
    root: str | None = Field(default=None, description="Folder standing in for the bucket.")
    bucket: str | None = None
    prefix: str = ""
    endpoint_url: str | None = Field(default=None, description="For S3-compatible stores.")
    region_name: str | None = None
    access_key_id_ref: str | None = Field(
        default=None, description="Reference to the access key id; unset: the AWS chain."
    )
    secret_access_key_ref: str | None = Field(
        default=None, description="Reference to the secret key; unset: the AWS chain."
    )

    def spec(self) -> dict:
        """A serialisable description, passed to the training job (no credentials)."""
        if self.kind == "dir":
            return {"kind": "dir", "root": str(Path(self.root or ".").resolve())}
        return {
            "kind": "s3",
            "bucket": self.bucket,
            "prefix": self.prefix,
            "endpoint_url": self.endpoint_url,
            "region": self.region_name,
        }

    def backend(self):
        if self.kind == "dir":
            if not self.root:
                raise ValueError("the cloud store of kind 'dir' needs a root folder")
            return DirectoryBackend(Path(self.root))
        if self.kind == "s3":
            from dagster_aws.s3 import S3Resource

            if not self.bucket:
                raise ValueError("the cloud store of kind 's3' needs a bucket")
            from resources.keys import resolve_secret

            credentials = {}
            if self.access_key_id_ref and self.secret_access_key_ref:
                credentials = {
                    "aws_access_key_id": resolve_secret(self.access_key_id_ref, "the S3 key id"),
                    "aws_secret_access_key": resolve_secret(
                        self.secret_access_key_ref, "the S3 secret"
                    ),
                }
            client = S3Resource(
                endpoint_url=self.endpoint_url,
                region_name=self.region_name or "us-east-1",
                max_attempts=4,
                **credentials,
            ).get_client()
            return S3Backend(client, self.bucket, self.prefix)
        raise ValueError(f"unknown cloud store kind {self.kind!r}; expected 'dir' or 's3'")

    def store(self, signer: EgressGateSigner | None = None) -> CloudStore:
        return CloudStore(self.backend(), signer)
