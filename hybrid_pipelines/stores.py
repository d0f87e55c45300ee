"""Object stores for each location, and the placement rule enforced on every write.

`OnPremStore` keeps records encrypted on local disk. `CloudStore` wraps a bucket-like
backend (a local folder in the embedded default, S3 in production) and refuses any write
that breaks the placement rule, whoever calls it.
"""

import hashlib
import hmac
import json
import logging
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import quote, unquote

from hybrid_pipelines.crypto import AtRestCipher
from hybrid_pipelines.identifiers import find_direct_identifiers
from hybrid_pipelines.placement import Location, Placement, PlacementError, Sensitivity

logger = logging.getLogger(__name__)


MAX_COMPONENT_BYTES = 180
EMPTY_COMPONENT = "~"


def key_component(value: str) -> str:
    """One path segment for any string: distinct, valid on disk, in URLs and in S3.

    Percent-encoding keeps it reversible; `~` is always encoded, so the bare `~` can stand
    for the empty string. Components too long for a file name keep a readable prefix and a
    hash of the whole value (still distinct, no longer reversible)."""
    if value == "":
        return EMPTY_COMPONENT
    if value in {".", ".."}:
        return "%2E" * len(value)
    encoded = quote(value, safe="-_=").replace("~", "%7E")
    if len(encoded) > MAX_COMPONENT_BYTES:
        digest = hashlib.sha256(value.encode()).hexdigest()[:32]
        encoded = f"{encoded[:100].rstrip('%')}~{digest}"
    return encoded


def object_key(*components: str) -> str:
    return "/".join(key_component(component) for component in components)


def decode_component(segment: str) -> str:
    if segment == EMPTY_COMPONENT:
        return ""
    return unquote(segment)


class Backend(Protocol):
    """The few operations a bucket offers; writes are atomic per object."""

    uri_prefix: str

    def put(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def list(self, prefix: str) -> list[str]: ...
    def delete(self, key: str) -> None: ...


class DirectoryBackend:
    """A local folder standing in for a bucket; each put is a rename, so readers never see
    half-written objects."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.uri_prefix = self.root.resolve().as_uri() + "/"

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"object key {key!r} escapes the store root")
        return path

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str) -> list[str]:
        base = self.root.resolve()
        start = self._path(prefix) if prefix else base
        search_root = start if start.is_dir() else start.parent
        if not search_root.exists():
            return []
        keys = []
        for path in search_root.rglob("*"):
            if path.is_file() and not path.name.startswith(".tmp-"):
                key = path.relative_to(base).as_posix()
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def records_to_jsonl(records: Sequence[dict]) -> bytes:
    return "".join(
        json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n" for record in records
    ).encode("utf-8")


def jsonl_to_records(data: bytes) -> list[dict]:
    return [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class OnPremStore:
    """Asset records on on-prem disk, encrypted at rest, one object per asset partition."""

    location = Location.ON_PREM

    def __init__(self, root: Path, cipher: AtRestCipher) -> None:
        self.backend = DirectoryBackend(root)
        self.cipher = cipher

    def _key(self, asset: str, partition: str) -> str:
        return object_key("assets", asset, partition) + ".jsonl.enc"

    def write_records(self, asset: str, partition: str, records: Sequence[dict]) -> str:
        payload = records_to_jsonl(records)
        key = self._key(asset, partition)
        self.backend.put(key, self.cipher.encrypt(payload))
        return sha256_hex(payload)

    def read_records(self, asset: str, partition: str) -> list[dict]:
        key = self._key(asset, partition)
        if not self.backend.exists(key):
            raise FileNotFoundError(
                f"on-prem asset {asset!r} has no partition {partition!r}; materialize it first"
            )
        return jsonl_to_records(self.cipher.decrypt(self.backend.get(key), name=key))

    def read_partitions(self, asset: str, partitions: Sequence[str]) -> list[dict]:
        """The records of several partitions of one asset, in partition order."""
        return [
            record for partition in partitions for record in self.read_records(asset, partition)
        ]

    def has_partition(self, asset: str, partition: str) -> bool:
        return self.backend.exists(self._key(asset, partition))

    def partitions(self, asset: str) -> list[str]:
        prefix = object_key("assets", asset) + "/"
        return [
            decode_component(key[len(prefix) :].removesuffix(".jsonl.enc"))
            for key in self.backend.list(prefix)
        ]

    def write_blob(self, name: str, data: bytes) -> None:
        self.backend.put(object_key("blobs", name), self.cipher.encrypt(data))

    def read_blob(self, name: str) -> bytes:
        key = object_key("blobs", name)
        return self.cipher.decrypt(self.backend.get(key), name=key)

    def has_blob(self, name: str) -> bool:
        return self.backend.exists(object_key("blobs", name))


@dataclass(frozen=True)
class GateClearance:
    """Proof, issued by the egress gate, that one exact payload passed the residual-PII scan."""

    asset: str
    content_sha256: str
    signature: str


class EgressGateSigner:
    """Issues and verifies clearances with a key that lives on-prem only."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _sign(self, asset: str, content_sha256: str) -> str:
        message = f"{asset}\x1f{content_sha256}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def clear(self, asset: str, payload: bytes) -> GateClearance:
        digest = sha256_hex(payload)
        return GateClearance(asset, digest, self._sign(asset, digest))

    def verify(self, clearance: GateClearance, asset: str, payload: bytes) -> bool:
        return (
            clearance.asset == asset
            and clearance.content_sha256 == sha256_hex(payload)
            and hmac.compare_digest(
                clearance.signature, self._sign(asset, clearance.content_sha256)
            )
        )


@dataclass(frozen=True)
class CloudWrite:
    uri: str
    content_sha256: str
    size_bytes: int


class CloudStore:
    """The cloud bucket, behind the placement rule.

    Sensitive data is refused outright; anonymized data needs a clearance from the egress
    gate for that exact payload, and is scanned once more for direct identifiers. Public
    data (models, metrics, cards) passes the identifier scan only.
    """

    location = Location.CLOUD

    def __init__(self, backend: Backend, signer: EgressGateSigner | None = None) -> None:
        self.backend = backend
        self.signer = signer

    @property
    def uri_prefix(self) -> str:
        """Where the store's objects live (bucket and prefix): deployment configuration."""
        return self.backend.uri_prefix

    def uri(self, key: str) -> str:
        return self.backend.uri_prefix + key

    def _refuse(self, asset: str, rule: str) -> PlacementError:
        logger.warning("refused cloud write for asset %s: %s", asset, rule)
        return PlacementError(f"cloud store refused a write of asset {asset!r}: {rule}")

    def _check(
        self, asset: str, placement: Placement, payload: bytes, clearance: GateClearance | None
    ) -> None:
        if placement.location is not Location.CLOUD:
            raise self._refuse(asset, f"its placement is {placement.location}, not cloud")
        if placement.sensitivity is Sensitivity.SENSITIVE:
            raise self._refuse(asset, "sensitive data never leaves on-prem")
        if placement.sensitivity is Sensitivity.ANONYMIZED:
            if clearance is None or self.signer is None:
                raise self._refuse(asset, "anonymized data needs a clearance from the egress gate")
            if not self.signer.verify(clearance, asset, payload):
                raise self._refuse(asset, "the egress clearance does not match this payload")
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            if placement.sensitivity is not Sensitivity.PUBLIC:
                raise self._refuse(
                    asset,
                    "binary payloads are accepted only for public artifacts such as model weights",
                ) from None
            return
        # The store's own URIs (a card's lineage) carry its configured bucket and prefix.
        identifiers = find_direct_identifiers(text, configured=[self.uri_prefix])
        if identifiers:
            kinds = sorted({identifier.kind for identifier in identifiers})
            raise self._refuse(asset, f"payload carries direct identifiers of types {kinds}")

    def write(
        self,
        asset: str,
        placement: Placement,
        key_parts: Sequence[str],
        payload: bytes,
        clearance: GateClearance | None = None,
    ) -> CloudWrite:
        self._check(asset, placement, payload, clearance)
        key = object_key(*key_parts)
        self.backend.put(key, payload)
        return CloudWrite(self.uri(key), sha256_hex(payload), len(payload))

    def read(self, key_parts: Sequence[str]) -> bytes:
        return self.backend.get(object_key(*key_parts))

    def exists(self, key_parts: Sequence[str]) -> bool:
        return self.backend.exists(object_key(*key_parts))

    def list(self, key_parts: Sequence[str]) -> Iterator[list[str]]:
        prefix = object_key(*key_parts) + "/"
        for key in self.backend.list(prefix):
            yield [decode_component(segment) for segment in key.split("/")]
