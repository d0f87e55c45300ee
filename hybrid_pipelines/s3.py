"""An S3 bucket as a store backend (any S3-compatible endpoint: AWS, SeaweedFS, MinIO)."""

import logging
from pathlib import Path
from typing import Any

from hybrid_pipelines.stores import DirectoryBackend

logger = logging.getLogger(__name__)

# S3 caps object keys at 1024 bytes of UTF-8; refuse longer ones before the request is sent.
MAX_KEY_BYTES = 1024
_MISSING_KEY_CODES = {"NoSuchKey", "404", "NotFound"}
_CREDENTIAL_CODES = {
    "403",
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
}


class StoreUnavailableError(RuntimeError):
    """The cloud store cannot be reached or refuses our credentials."""


class ObjectKeyTooLongError(ValueError):
    """An object key exceeds what the store accepts; nothing was written."""


class S3Backend:
    """Objects under `prefix/` in one bucket. A single PUT is atomic for readers.

    `page_size` bounds each listing request (S3 returns at most 1000 keys per page).
    """

    def __init__(
        self, client: Any, bucket: str, prefix: str = "", page_size: int | None = None
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.uri_prefix = f"s3://{bucket}/{self.prefix}"
        self.page_size = page_size

    def _call(self, operation: str, key: str, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError

        where = f"{self.uri_prefix}{key}"
        try:
            return getattr(self.client, operation)(Bucket=self.bucket, **kwargs)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", "unknown"))
            if code in _MISSING_KEY_CODES:
                raise FileNotFoundError(f"{where} does not exist") from None
            if code == "KeyTooLongError":
                raise ObjectKeyTooLongError(
                    f"S3 {operation} on {where} failed: the store refuses a key this long "
                    f"({len(kwargs.get('Key', '').encode())} bytes)"
                ) from None
            if code == "NoSuchBucket":
                hint = "the bucket does not exist; check the bucket name (HYBRID_S3_BUCKET)"
            elif code in _CREDENTIAL_CODES:
                hint = (
                    "the store refused our credentials; check AWS_ACCESS_KEY_ID / "
                    "AWS_SECRET_ACCESS_KEY or the profile, and the bucket policy"
                )
            else:
                hint = "check the bucket name and the credentials (AWS_ACCESS_KEY_ID / profile)"
            raise StoreUnavailableError(
                f"S3 {operation} on {where} failed with {code}; {hint}"
            ) from None
        except BotoCoreError as error:
            raise StoreUnavailableError(
                f"S3 {operation} on {where} failed: {type(error).__name__} after retries; "
                "check the endpoint URL (HYBRID_S3_ENDPOINT_URL) and the network path to the "
                "bucket"
            ) from None

    def _full_key(self, key: str) -> str:
        full = self.prefix + key
        if len(full.encode()) > MAX_KEY_BYTES:
            raise ObjectKeyTooLongError(
                f"object key {self.uri_prefix}{key[:64]}... is {len(full.encode())} bytes; "
                f"S3 accepts at most {MAX_KEY_BYTES}"
            )
        return full

    def put(self, key: str, data: bytes) -> None:
        self._call("put_object", key, Key=self._full_key(key), Body=data)

    def get(self, key: str) -> bytes:
        return self._call("get_object", key, Key=self._full_key(key))["Body"].read()

    def exists(self, key: str) -> bool:
        try:
            self._call("head_object", key, Key=self._full_key(key))
        except FileNotFoundError:
            return False
        return True

    def list(self, prefix: str) -> list[str]:
        keys: list[str] = []
        token = None
        while True:
            arguments: dict[str, Any] = {"Prefix": self.prefix + prefix}
            if self.page_size:
                arguments["MaxKeys"] = self.page_size
            if token:
                arguments["ContinuationToken"] = token
            page = self._call("list_objects_v2", prefix, **arguments)
            keys.extend(item["Key"][len(self.prefix) :] for item in page.get("Contents", []))
            if not page.get("IsTruncated"):
                return sorted(keys)
            token = page["NextContinuationToken"]

    def delete(self, key: str) -> None:
        self._call("delete_object", key, Key=self._full_key(key))


def s3_client(
    endpoint_url: str | None = None,
    region: str | None = None,
    *,
    max_attempts: int = 5,
    connect_timeout: float = 5,
    read_timeout: float = 30,
):
    """A boto3 client with retries for transient network errors; credentials from the AWS
    chain (environment, profile, instance role), never from code.

    `max_attempts` counts every attempt, the first included. Each client has its own
    session, so the chain is read when the client is made (boto3's module-level default
    session would keep the first credentials it resolved for the life of the process)."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"total_max_attempts": max_attempts, "mode": "standard"},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
    )
    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint_url, region_name=region or "us-east-1", config=config
    )


def backend_from_spec(spec: dict) -> DirectoryBackend | S3Backend:
    """A backend from its serialisable description, as passed to the training job.

    An S3 spec may carry `max_attempts`, `connect_timeout` and `read_timeout`; never
    credentials."""
    kind = spec.get("kind")
    if kind == "dir":
        return DirectoryBackend(Path(spec["root"]))
    if kind == "s3":
        tuning = {
            name: spec[name]
            for name in ("max_attempts", "connect_timeout", "read_timeout")
            if spec.get(name) is not None
        }
        client = s3_client(spec.get("endpoint_url"), spec.get("region"), **tuning)
        return S3Backend(client, spec["bucket"], spec.get("prefix", ""))
    raise ValueError(f"unknown store kind {kind!r}; expected 'dir' or 's3'")
