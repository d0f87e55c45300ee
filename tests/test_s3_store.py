"""The cloud side on a real S3 server (SeaweedFS on loopback, no mocks): the S3 backend,
object keys, the placement guard, failures, the model registry, the training entry point
through Pipes, and `hybrid-pipelines run` with the S3 store."""

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from hybrid_pipelines import routing_model
from hybrid_pipelines.placement import (
    CLOUD_ANONYMIZED,
    CLOUD_PUBLIC,
    ON_PREM_SENSITIVE,
    Location,
    Placement,
    PlacementError,
    Sensitivity,
)
from hybrid_pipelines.registry import REGISTRY_ASSET, ModelRegistry, ModelStatus, RegistryError
from hybrid_pipelines.s3 import (
    ObjectKeyTooLongError,
    S3Backend,
    StoreUnavailableError,
    backend_from_spec,
    s3_client,
)
from hybrid_pipelines.stores import (
    CloudStore,
    EgressGateSigner,
    decode_component,
    key_component,
    object_key,
    records_to_jsonl,
    sha256_hex,
)
from resources.stores import CloudStoreResource
from resources.training import TrainingLauncher
from tests.conftest import materialize_as_run
from tests.seaweedfs import S3Endpoint, closed_port, seaweedfs  # noqa: F401

pytestmark = pytest.mark.s3

REPO_ROOT = Path(__file__).resolve().parents[1]
CLEAN = records_to_jsonl([{"doc_id": "a1", "text": "Meeting with <PERSON_0123456789> on Monday"}])

# Partition or asset keys with characters that mean something to paths, URLs or S3.
NASTY_KEYS = [
    "2024-01-01",
    "",
    ".",
    "..",
    "...",
    "~",
    "%",
    "%00",
    "%2F",
    "%252F",
    "%2E%2E",
    "a/b",
    "a%2Fb",
    "a//b",
    "/",
    "/leading",
    "trailing/",
    "../../etc/passwd",
    "a\\b",
    "with space",
    "with+space",
    "with%20space",
    " ",
    "+",
    "q?x=1#frag&y=2",
    "q?x=1#frag&y=3",
    "a*b|c<d>e:f\"g'h`i",
    "tab\there",
    "new\nline",
    "nul\x00byte",
    "Case",
    "case",
    "é",
    "e\u0301",
    "日本語/パーティション",
    "🚀 launch",
    "x" * 179,
    "x" * 180,
    "x" * 181,
    "x" * 500 + "a",
    "x" * 500 + "b",
    "é" * 200,
    "é" * 199 + "e",
]


@pytest.fixture
def s3_env(monkeypatch: pytest.MonkeyPatch, seaweedfs: S3Endpoint) -> S3Endpoint:  # noqa: F811
    """The AWS chain of this process (and its subprocesses) points at the test server only."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    for name, value in seaweedfs.env().items():
        monkeypatch.setenv(name, value)
    return seaweedfs


@pytest.fixture(scope="session")
def shared_bucket(seaweedfs: S3Endpoint) -> str:  # noqa: F811
    return seaweedfs.create_bucket("hybrid")


@pytest.fixture
def bucket(s3_env: S3Endpoint, shared_bucket: str) -> str:
    return shared_bucket


@pytest.fixture
def prefix() -> str:
    """Each test writes under its own prefix in the shared bucket (a slash inside)."""
    return f"t-{uuid.uuid4().hex[:10]}/cloud"


def make_backend(endpoint: S3Endpoint, bucket: str, prefix: str, **options) -> S3Backend:
    client = s3_client(endpoint.endpoint_url, max_attempts=2, connect_timeout=2, read_timeout=10)
    return S3Backend(client, bucket, prefix, **options)


@pytest.fixture
def backend(s3_env: S3Endpoint, bucket: str, prefix: str) -> S3Backend:
    return make_backend(s3_env, bucket, prefix)


@pytest.fixture
def signer() -> EgressGateSigner:
    return EgressGateSigner(b"g" * 32)


@pytest.fixture
def cloud(backend: S3Backend, signer: EgressGateSigner) -> CloudStore:
    return CloudStore(backend, signer)


class CountingClient:
    """Passes every call to a real boto3 client and counts them by operation."""

    def __init__(self, client) -> None:
        self._client = client
        self.calls: dict[str, int] = {}

    def __getattr__(self, name: str):
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def counted(*args, **kwargs):
            self.calls[name] = self.calls.get(name, 0) + 1
            return attribute(*args, **kwargs)

        return counted


# --------------------------------------------------------------------------- S3 backend


def test_backend_round_trip(
    backend: S3Backend, s3_env: S3Endpoint, bucket: str, prefix: str
) -> None:
    assert backend.uri_prefix == f"s3://{bucket}/{prefix}/"
    assert not backend.exists("models/a.bin")
    backend.put("models/a.bin", b"\x00\x01binary")
    backend.put("models/b.json", b"{}")
    backend.put("other/c.txt", b"c")

    assert backend.get("models/a.bin") == b"\x00\x01binary"
    assert backend.exists("models/a.bin")
    assert backend.list("models/") == ["models/a.bin", "models/b.json"]
    assert backend.list("") == ["models/a.bin", "models/b.json", "other/c.txt"]
    # Everything lives under the prefix in the bucket.
    assert s3_env.keys(bucket, prefix) == [f"{prefix}/{key}" for key in backend.list("")]

    backend.put("models/a.bin", b"replaced")
    assert backend.get("models/a.bin") == b"replaced"
    backend.delete("models/a.bin")
    assert not backend.exists("models/a.bin")
    assert backend.list("models/") == ["models/b.json"]
    backend.delete("models/never-written")  # deleting a missing object is not an error


def test_listing_follows_continuation_pages(s3_env: S3Endpoint, bucket: str, prefix: str) -> None:
    writer = make_backend(s3_env, bucket, prefix)
    keys = [f"pages/{number:03d}" for number in range(23)]
    for key in keys:
        writer.put(key, key.encode())
    writer.put("pagesX/outside", b"")  # shares the string prefix without the slash

    counting = CountingClient(writer.client)
    reader = S3Backend(counting, bucket, prefix, page_size=5)
    assert reader.list("pages/") == keys
    assert counting.calls["list_objects_v2"] == 5  # 23 keys in pages of 5


def test_nasty_keys_are_distinct_valid_and_round_trip(
    backend: S3Backend, cloud: CloudStore, s3_env: S3Endpoint, bucket: str, prefix: str
) -> None:
    assert len(set(NASTY_KEYS)) == len(NASTY_KEYS)
    keys = {value: object_key("asset/with/slashes", value, "data.json") for value in NASTY_KEYS}
    assert len(set(keys.values())) == len(NASTY_KEYS), "two partition keys share an object key"

    for number, (value, key) in enumerate(keys.items()):
        segments = key.split("/")
        assert len(segments) == 3, f"{value!r} adds path segments: {key!r}"
        assert all(segment not in {"", ".", ".."} for segment in segments), key
        assert len(key.encode()) <= 1024
        payload = json.dumps({"n": number}).encode()
        cloud.write(
            "public_asset", CLOUD_PUBLIC, ["asset/with/slashes", value, "data.json"], payload
        )

    stored = s3_env.keys(bucket, prefix)
    assert stored == sorted(f"{prefix}/{key}" for key in keys.values())
    for number, value in enumerate(NASTY_KEYS):
        assert cloud.exists(["asset/with/slashes", value, "data.json"])
        assert json.loads(cloud.read(["asset/with/slashes", value, "data.json"])) == {"n": number}

    # Listing decodes back to the original values: all of them for keys of ordinary length;
    # components too long for a file name keep a prefix and a hash (distinct, not reversible).
    reversible = {value for value in NASTY_KEYS if decode_component(key_component(value)) == value}
    assert {value for value in NASTY_KEYS if len(value) <= 60} <= reversible
    listed = {tuple(parts) for parts in cloud.list(["asset/with/slashes"])}
    assert len(listed) == len(NASTY_KEYS)
    assert {("asset/with/slashes", value, "data.json") for value in reversible} <= listed


def test_too_long_key_is_refused_before_anything_is_written(
    backend: S3Backend, s3_env: S3Endpoint, bucket: str, prefix: str
) -> None:
    with pytest.raises(ObjectKeyTooLongError, match="at most 1024"):
        backend.put("k/" + "a" * 1100, b"x")
    # SeaweedFS caps one path segment at 255 bytes: its refusal is named too, not
    # mistaken for a credential problem.
    with pytest.raises(ObjectKeyTooLongError, match="put_object"):
        backend.put("k/" + "b" * 300, b"x")
    assert s3_env.keys(bucket, prefix) == []


# --------------------------------------------------------------------------- placement guard


@pytest.mark.parametrize(
    ("placement", "payload", "clearance_for", "rule"),
    [
        (ON_PREM_SENSITIVE, CLEAN, None, "not cloud"),
        (Placement(Location.CLOUD, Sensitivity.SENSITIVE), CLEAN, None, "never leaves on-prem"),
        (CLOUD_ANONYMIZED, CLEAN, None, "needs a clearance"),
        (CLOUD_ANONYMIZED, CLEAN, b"another payload", "does not match this payload"),
        (CLOUD_PUBLIC, b'{"note": "mail jane.doe@example.com"}', None, "EMAIL_ADDRESS"),
        # A valid clearance does not bypass the store's own identifier scan.
        (CLOUD_ANONYMIZED, b'{"text": "write to jane.doe@example.com"}', "self", "EMAIL_ADDRESS"),
        (CLOUD_ANONYMIZED, b"\x89PNG\x00\xff", "self", "binary payloads"),
    ],
)
def test_refused_writes_leave_nothing_in_the_bucket(
    cloud: CloudStore,
    signer: EgressGateSigner,
    s3_env: S3Endpoint,
    bucket: str,
    prefix: str,
    placement: Placement,
    payload: bytes,
    clearance_for: bytes | str | None,
    rule: str,
) -> None:
    clearance = None
    if clearance_for == "self":
        clearance = signer.clear("training_corpus", payload)
    elif clearance_for is not None:
        clearance = signer.clear("training_corpus", clearance_for)
    with pytest.raises(PlacementError, match=rule):
        cloud.write(
            "training_corpus", placement, ["training_corpus", "p.jsonl"], payload, clearance
        )
    assert s3_env.keys(bucket, prefix) == []


def test_clearance_from_another_gate_key_is_refused(
    cloud: CloudStore, s3_env: S3Endpoint, bucket: str, prefix: str
) -> None:
    forged = EgressGateSigner(b"f" * 32).clear("training_corpus", CLEAN)
    with pytest.raises(PlacementError, match="does not match"):
        cloud.write("training_corpus", CLOUD_ANONYMIZED, ["training_corpus", "p"], CLEAN, forged)
    assert s3_env.keys(bucket, prefix) == []


def test_cleared_write_lands_with_an_s3_uri(
    cloud: CloudStore, signer: EgressGateSigner, s3_env: S3Endpoint, bucket: str, prefix: str
) -> None:
    clearance = signer.clear("training_corpus", CLEAN)
    written = cloud.write(
        "training_corpus",
        CLOUD_ANONYMIZED,
        ["training_corpus", "2024-01-01.jsonl"],
        CLEAN,
        clearance,
    )
    assert written.uri == f"s3://{bucket}/{prefix}/training_corpus/2024-01-01.jsonl"
    assert written.content_sha256 == sha256_hex(CLEAN)
    assert written.size_bytes == len(CLEAN)
    assert s3_env.keys(bucket, prefix) == [f"{prefix}/training_corpus/2024-01-01.jsonl"]
    assert cloud.read(["training_corpus", "2024-01-01.jsonl"]) == CLEAN


def test_store_resource_of_kind_s3_uses_dagster_aws(
    s3_env: S3Endpoint, bucket: str, prefix: str
) -> None:
    resource = CloudStoreResource(
        kind="s3", bucket=bucket, prefix=prefix, endpoint_url=s3_env.endpoint_url
    )
    spec = resource.spec()
    assert spec == {
        "kind": "s3",
        "bucket": bucket,
        "prefix": prefix,
        "endpoint_url": s3_env.endpoint_url,
        "region": None,
    }
    assert s3_env.secret_key not in json.dumps(spec)  # the spec travels to the training pod
    store = resource.store()
    written = store.write("weights", CLOUD_PUBLIC, ["models", "w.bin"], b"\x00weights")
    assert written.uri == f"s3://{bucket}/{prefix}/models/w.bin"
    assert CloudStore(backend_from_spec(spec)).read(["models", "w.bin"]) == b"\x00weights"


def test_store_resource_takes_credentials_by_reference(
    s3_env: S3Endpoint, bucket: str, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The edge's bucket credentials under their own names, not the AWS chain's."""
    monkeypatch.setenv("HYBRID_S3_ACCESS_KEY_ID", s3_env.access_key)
    monkeypatch.setenv("HYBRID_S3_SECRET_ACCESS_KEY", s3_env.secret_key)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    resource = CloudStoreResource(
        kind="s3",
        bucket=bucket,
        prefix=prefix,
        endpoint_url=s3_env.endpoint_url,
        access_key_id_ref="env:HYBRID_S3_ACCESS_KEY_ID",
        secret_access_key_ref="env:HYBRID_S3_SECRET_ACCESS_KEY",
    )

    written = resource.store().write("weights", CLOUD_PUBLIC, ["models", "r.bin"], b"\x00w")

    assert written.uri == f"s3://{bucket}/{prefix}/models/r.bin"
    assert s3_env.secret_key not in repr(resource)


# --------------------------------------------------------------------------- failures


def test_wrong_secret_names_operation_and_hint_never_the_secret(
    s3_env: S3Endpoint,
    bucket: str,
    prefix: str,
    backend: S3Backend,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backend.put("kept.txt", b"kept")
    wrong_secret = "wrong-" + "s" * 34
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", wrong_secret)
    refused = make_backend(s3_env, bucket, prefix)

    cases = [
        ("put_object", lambda: refused.put("new.txt", b"x")),
        ("get_object", lambda: refused.get("kept.txt")),
        ("head_object", lambda: refused.exists("kept.txt")),
        ("list_objects_v2", lambda: refused.list("")),
        ("delete_object", lambda: refused.delete("kept.txt")),
    ]
    for operation, call in cases:
        with pytest.raises(StoreUnavailableError) as caught:
            call()
        message = str(caught.value)
        assert f"S3 {operation} on s3://{bucket}/{prefix}/" in message
        assert "credentials" in message
        assert "AWS_SECRET_ACCESS_KEY" in message
        assert wrong_secret not in message and s3_env.secret_key not in message
        assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert s3_env.keys(bucket, prefix) == [f"{prefix}/kept.txt"]  # nothing written, nothing deleted


def test_unknown_access_key_is_refused(
    s3_env: S3Endpoint, bucket: str, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKNOBODY0000000000")
    with pytest.raises(StoreUnavailableError, match=r"put_object .* refused our credentials"):
        make_backend(s3_env, bucket, prefix).put("x", b"x")


def test_missing_bucket_is_named(s3_env: S3Endpoint) -> None:
    backend = make_backend(s3_env, "no-such-bucket-here", "p")
    with pytest.raises(StoreUnavailableError, match="bucket does not exist"):
        backend.put("x", b"x")


def test_unreachable_endpoint_fails_clearly_after_bounded_retries(s3_env: S3Endpoint) -> None:
    # The spec form, as the training job receives it, with small timeouts and retries.
    backend = backend_from_spec(
        {
            "kind": "s3",
            "bucket": "bucket",
            "prefix": "hybrid/cloud",
            "endpoint_url": f"http://127.0.0.1:{closed_port()}",
            "max_attempts": 3,
            "connect_timeout": 1,
            "read_timeout": 2,
        }
    )
    attempts = []
    backend.client.meta.events.register("before-send.s3.*", lambda **_: attempts.append(1))

    started = time.monotonic()
    with pytest.raises(StoreUnavailableError) as caught:
        backend.get("training_corpus/2024-01-01.jsonl")
    elapsed = time.monotonic() - started

    message = str(caught.value)
    assert "S3 get_object on s3://bucket/hybrid/cloud/training_corpus/2024-01-01.jsonl" in message
    assert "EndpointConnectionError" in message and "endpoint URL" in message
    assert len(attempts) == 3  # retried, as a network error should be
    assert elapsed < 15


def test_missing_key_is_file_not_found(backend: S3Backend, cloud: CloudStore) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        backend.get("nothing/here")
    with pytest.raises(FileNotFoundError):
        cloud.read(["training_corpus", "1999-01-01.jsonl"])
    assert not cloud.exists(["training_corpus", "1999-01-01.jsonl"])
    assert list(cloud.list(["training_corpus"])) == []


# --------------------------------------------------------------------------- registry


def tiny_weights(seed: int = 0) -> bytes:
    import torch

    torch.manual_seed(seed)
    return routing_model.serialise(routing_model.SensitivityHead())


def card(**overrides) -> dict:
    base = {
        "created_at": "2024-01-01T00:00:00Z",
        "encoder": routing_model.ENCODER_PACKAGE,
        "metrics": {"train": {"f1": 0.9}, "validation": {"f1": 0.8}},
        "training_data": {"sensitivities": ["anonymized"], "objects": []},
        "labels": {"sources": {"document": 10}},
    }
    return {**base, **overrides}


@pytest.fixture
def registry(cloud: CloudStore) -> ModelRegistry:
    return ModelRegistry(cloud)


def version_key(version: str, name: str) -> list[str]:
    return ["registry", "sensitivity_model", "versions", version, name]


def test_register_and_load_on_s3(registry: ModelRegistry, bucket: str, prefix: str) -> None:
    weights = tiny_weights()
    version = registry.register(weights, card())

    assert registry.versions() == [version]
    assert (
        registry.uri(version)
        == f"s3://{bucket}/{prefix}/registry/sensitivity_model/versions/{version}"
    )
    loaded = registry.load(version)
    assert loaded.weights == weights
    assert loaded.card["weights_sha256"] == sha256_hex(weights)
    model = routing_model.deserialise(loaded.weights, name=version)
    assert isinstance(model, routing_model.SensitivityHead)
    assert registry.status(version) is ModelStatus.CANDIDATE

    with pytest.raises(RegistryError, match="immutable"):
        registry.register(tiny_weights(1), card(version=version))
    assert registry.load(version).weights == weights


def test_version_without_complete_marker_is_invisible(
    registry: ModelRegistry, cloud: CloudStore
) -> None:
    finished = registry.register(tiny_weights(), card())
    crashed = "v20240101t000000m000z-deadbeef"
    # A writer that died after the weights: no card, no marker.
    cloud.write(REGISTRY_ASSET, CLOUD_PUBLIC, version_key(crashed, "model.safetensors"), b"w")

    assert registry.versions() == [finished]
    with pytest.raises(RegistryError, match="not complete"):
        registry.load(crashed)


def test_truncated_weights_are_refused_on_load(registry: ModelRegistry, backend: S3Backend) -> None:
    weights = tiny_weights()
    version = registry.register(weights, card())
    key = object_key(*version_key(version, "model.safetensors"))
    backend.put(key, weights[: len(weights) // 2])

    with pytest.raises(
        RegistryError, match=f"{version}: weights do not match .*corrupt or truncated"
    ):
        registry.load(version)
    with pytest.raises(routing_model.CorruptModelError, match="corrupt or truncated"):
        routing_model.deserialise(weights[: len(weights) // 2], name=version)


def test_card_missing_a_field_is_refused(
    registry: ModelRegistry, cloud: CloudStore, s3_env: S3Endpoint, bucket: str, prefix: str
) -> None:
    incomplete = card()
    del incomplete["metrics"]
    with pytest.raises(RegistryError, match=r"lacks required fields \['metrics'\]"):
        registry.register(tiny_weights(), incomplete)
    assert s3_env.keys(bucket, prefix) == []  # refused before anything was written

    # A version written by another tool, consistent hashes but an incomplete card.
    version = "v20240101t000000m000z-0badcafe"
    weights = tiny_weights()
    card_bytes = json.dumps({**incomplete, "version": version}).encode()
    marker = {"weights_sha256": sha256_hex(weights), "card_sha256": sha256_hex(card_bytes)}
    for name, payload in [
        ("model.safetensors", weights),
        ("card.json", card_bytes),
        ("COMPLETE", json.dumps(marker).encode()),
    ]:
        cloud.write(REGISTRY_ASSET, CLOUD_PUBLIC, version_key(version, name), payload)
    with pytest.raises(RegistryError, match="lacks required fields"):
        registry.load(version)


def test_card_claiming_sensitive_training_data_is_refused(registry: ModelRegistry) -> None:
    claims = card(training_data={"sensitivities": ["anonymized", "sensitive"]})
    with pytest.raises(RegistryError, match="only anonymized or public"):
        registry.register(tiny_weights(), claims)


def test_card_with_any_run_id_is_accepted(registry: ModelRegistry) -> None:
    version = registry.register(tiny_weights(), card(run_id="9c20b6ae-7043-4505-8bf4-ce2ef1bd469f"))
    assert registry.versions() == [version]


def test_status_history_is_append_only(
    registry: ModelRegistry, backend: S3Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = registry.register(tiny_weights(), card())
    status_prefix = object_key("registry", "sensitivity_model", "status", version) + "/"
    before = {key: backend.get(key) for key in backend.list(status_prefix)}

    registry.set_status(version, ModelStatus.PROMOTED, {"reason": "beats the edge model"})
    registry.set_status(version, ModelStatus.ROLLED_BACK, {"reason": "operator rollback"})
    # Events in the same millisecond must neither overwrite nor reorder each other.
    import hybrid_pipelines.registry as registry_module

    monkeypatch.setattr(registry_module, "_stamp", lambda: "20240101t000000m000z")
    registry.set_status(version, ModelStatus.PROMOTED, {"reason": "again"})
    registry.set_status(version, ModelStatus.PROMOTED, {"reason": "and again"})
    registry.set_status(version, ModelStatus.CANDIDATE, {"reason": "re-evaluate"})

    history = registry.status_history(version)
    assert [event["status"] for event in history] == [
        "candidate",
        "promoted",
        "rolled_back",
        "promoted",
        "promoted",
        "candidate",
    ]
    assert [event["reason"] for event in history][-3:] == ["again", "and again", "re-evaluate"]
    assert registry.status(version) is ModelStatus.CANDIDATE
    after = {key: backend.get(key) for key in backend.list(status_prefix)}
    assert {key: after[key] for key in before} == before  # earlier events untouched


# --------------------------------------------------------------------------- training via Pipes


def corpus_records(partition: str, count: int) -> list[dict]:
    sensitive = [
        "Patient <PERSON_{h}> was admitted at <LOCATION_{h}> with a cardiac condition",
        "Salary review for <PERSON_{h}>: contract renewal and disciplinary note",
        "Le patient <PERSON_{h}> habite à <LOCATION_{h}>, suivi pour diabète",
    ]
    public = [
        "The cafeteria menu for next week includes soup and salad",
        "Quarterly newsletter: the office garden project is finished",
        "La réunion générale aura lieu dans la grande salle",
    ]
    records = []
    for number in range(count):
        label = number % 2
        template = (sensitive if label else public)[number % 3]
        token = f"{number:02d}{partition[-2:]}abcdef"[:10]
        records.append(
            {
                "doc_id": f"doc-{partition[-2:]}x{number:03d}",
                "text": template.format(h=token),
                "language": "fr" if number % 3 == 2 else "en",
                "entity_type_counts": {"PERSON": 1, "LOCATION": 1} if label else {},
                "label": label,
                "label_source": "document",
            }
        )
    return records


def write_corpus(cloud: CloudStore, signer: EgressGateSigner, partitions: list[str]) -> list:
    written = []
    for partition in partitions:
        payload = records_to_jsonl(corpus_records(partition, 12))
        clearance = signer.clear("training_corpus", payload)
        written.append(
            cloud.write(
                "training_corpus",
                CLOUD_ANONYMIZED,
                ["training_corpus", f"{partition}.jsonl"],
                payload,
                clearance,
            )
        )
    return written


def test_training_entry_point_through_pipes_against_the_bucket(
    cloud: CloudStore, signer: EgressGateSigner, s3_env: S3Endpoint, bucket: str, prefix: str
) -> None:
    from assets.training import sensitivity_model_candidate

    corpus = write_corpus(cloud, signer, ["2024-01-01", "2024-01-02"])
    result = materialize_as_run(
        sensitivity_model_candidate,
        resources={
            "cloud": CloudStoreResource(
                kind="s3", bucket=bucket, prefix=prefix, endpoint_url=s3_env.endpoint_url
            ),
            # The subprocess gets its credentials from the environment (the AWS chain).
            "trainer": TrainingLauncher(mode="subprocess"),
        },
        run_config={"ops": {"sensitivity_model_candidate": {"config": {"epochs": 25}}}},
    )
    assert result.success

    metadata = result.asset_materializations_for_node("sensitivity_model_candidate")[0].metadata
    version = metadata["model_version"].value
    assert metadata["corpus_records"].value == 24
    assert 0.0 <= metadata["train_f1"].value <= 1.0
    assert 0.0 <= metadata["validation_f1"].value <= 1.0
    assert metadata["epochs"].value == 25
    assert len(metadata["loss_curve_chart"].value.split("```")[1].strip()) == 25
    assert metadata["registry_uri"].value.startswith(f"s3://{bucket}/{prefix}/registry/")

    registry = ModelRegistry(cloud)
    assert registry.versions() == [version]
    loaded = registry.load(version)
    lineage = loaded.card["training_data"]["objects"]
    assert [(item["partition"], item["uri"], item["sha256"]) for item in lineage] == [
        (partition, write.uri, write.content_sha256)
        for partition, write in zip(["2024-01-01", "2024-01-02"], corpus, strict=True)
    ]
    assert loaded.card["training_data"]["sensitivities"] == ["anonymized"]
    assert registry.status(version) is ModelStatus.CANDIDATE
    routing_model.deserialise(loaded.weights, name=version)


# --------------------------------------------------------------------------- the command line


@pytest.mark.slow
def test_cli_run_with_the_s3_store(s3_env: S3Endpoint, tmp_path: Path) -> None:
    # A bucket named after an account number: configuration, not a phone number.
    bucket, prefix = s3_env.create_bucket("cli-123456789012"), "hybrid/cloud"
    cli = Path(sys.executable).parent / "hybrid-pipelines"
    inbox, home = tmp_path / "inbox", tmp_path / "home"
    env = {
        **os.environ,
        "HYBRID_CLOUD_STORE": "s3",
        "HYBRID_S3_BUCKET": bucket,
        "HYBRID_S3_PREFIX": prefix,
        "HYBRID_S3_ENDPOINT_URL": s3_env.endpoint_url,
        "HYBRID_RAY_NUM_CPUS": "2",
    }
    subprocess.run([cli, "sample", "--inbox", inbox], check=True, env=env, timeout=120)

    run = subprocess.run(
        [cli, "run", "--inbox", inbox, "--home", home],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]

    keys = s3_env.keys(bucket, prefix)
    assert any(key.startswith(f"{prefix}/training_corpus/") for key in keys)
    assert any(key.endswith("/COMPLETE") for key in keys)
    assert not (home / "cloud").exists() or not any((home / "cloud").rglob("*.jsonl"))

    audit = subprocess.run(
        [cli, "audit", "--home", home, "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    entries = json.loads(audit.stdout)
    assert entries
    assert all(entry["uri"].startswith(f"s3://{bucket}/{prefix}/") for entry in entries)
    for entry in entries:
        assert entry["uri"].removeprefix(f"s3://{bucket}/") in keys
