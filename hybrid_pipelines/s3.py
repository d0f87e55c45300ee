"""An S3 bucket as a store backend (any S3-compatible endpoint: AWS, SeaweedFS, MinIO)."""

import logging
from typing import Any

from hybrid_pipelines.stores import DirectoryBackend

logger = logging.getLogger(__name__)


class StoreUnavailableError(RuntimeError):
    """The cloud store cannot be reached or refuses our credentials."""


class S3Backend:
    """Objects under `prefix/` in one bucket. A single PUT is atomic for readers."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.uri_prefix = f"s3://{bucket}/{self.prefix}"

    def _call(self, operation: str, key: str, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, operation)(Bucket=self.bucket, **kwargs)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "unknown")
            if code in {"NoSuchKey", "404"}:
                raise FileNotFoundError(f"{self.uri_prefix}{key} does not exist") from None
            raise StoreUnavailableError(
                f"S3 {operation} on {self.uri_prefix}{key} failed with {code}; check the "
                "bucket name and the credentials (AWS_ACCESS_KEY_ID / profile)"
            ) from None
        except BotoCoreError as error:
            raise StoreUnavailableError(
                f"S3 {operation} on {self.uri_prefix}{key} failed: {type(error).__name__}; "
                "check the endpoint URL and network path to the bucket"
            ) from None

    def put(self, key: str, data: bytes) -> None:
        self._call("put_object", key, Key=self.prefix + key, Body=data)

    def get(self, key: str) -> bytes:
        return self._call("get_object", key, Key=self.prefix + key)["Body"].read()

    def exists(self, key: str) -> bool:
        try:
            self._call("head_object", key, Key=self.prefix + key)
        except FileNotFoundError:
            return False
        return True

    def list(self, prefix: str) -> list[str]:
        keys: list[str] = []
        token = None
        while True:
            arguments = {"Prefix": self.prefix + prefix}
            if token:
                arguments["ContinuationToken"] = token
            page = self._call("list_objects_v2", prefix, **arguments)
            keys.extend(item["Key"][len(self.prefix) :] for item in page.get("Contents", []))
            if not page.get("IsTruncated"):
                return sorted(keys)
            token = page["NextContinuationToken"]

    def delete(self, key: str) -> None:
        self._call("delete_object", key, Key=self.prefix + key)


def s3_client(endpoint_url: str | None = None, region: str | None = None):
    """A boto3 client with retries for transient network errors; credentials from the AWS
    chain (environment, profile, instance role), never from code."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=5, read_timeout=30
    )
    return boto3.client(
        "s3", endpoint_url=endpoint_url, region_name=region or "us-east-1", config=config
    )


def backend_from_spec(spec: dict) -> DirectoryBackend | S3Backend:
    """A backend from its serialisable description, as passed to the training job."""
    kind = spec.get("kind")
    if kind == "dir":
        from pathlib import Path

        return DirectoryBackend(Path(spec["root"]))
    if kind == "s3":
        client = s3_client(spec.get("endpoint_url"), spec.get("region"))
        return S3Backend(client, spec["bucket"], spec.get("prefix", ""))
    raise ValueError(f"unknown store kind {kind!r}; expected 'dir' or 's3'")
