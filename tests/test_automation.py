"""Sensors, promotion decisions and rollback, on real stores in a temporary home."""

import json
import os
import time

import dagster as dg
import numpy as np
import pytest

from hybrid_pipelines import routing_model
from hybrid_pipelines.crypto import AtRestCipher, generate_key
from hybrid_pipelines.promotion import EdgeModels, decide
from hybrid_pipelines.registry import ModelRegistry, ModelStatus, RegistryError
from hybrid_pipelines.stores import CloudStore, DirectoryBackend, OnPremStore
from resources.stores import CloudStoreResource, OnPremStoreResource
from sensors.inbox import build_inbox_sensor
from sensors.promotion import model_promotion_sensor


def tiny_weights(seed: int) -> bytes:
    result = routing_model.train_head(
        np.random.default_rng(seed)
        .normal(size=(8, routing_model.EMBEDDING_DIM + len(routing_model.ENTITY_FEATURES)))
        .astype(np.float32),
        [0, 1] * 4,
        epochs=2,
        seed=seed,
    )
    return routing_model.serialise(result.model)


def card(**overrides) -> dict:
    return {
        "created_at": "2026-01-01T00:00:00Z",
        "metrics": {},
        "encoder": "minilm",
        "labels": {},
        "training_data": {"sensitivities": ["anonymized"]},
        **overrides,
    }


def test_inbox_sensor_requests_only_new_or_changed_days(tmp_path):
    inbox = tmp_path / "inbox"
    (inbox / "2025-01-01").mkdir(parents=True)
    (inbox / "2025-01-01" / "a.txt").write_text("first")
    (inbox / "2025-01-02").mkdir()
    (inbox / "2025-01-02" / "b.txt").write_text("second")
    sensor = build_inbox_sensor(str(inbox))

    context = dg.build_sensor_context(cursor=None)
    first = sensor(context)
    assert sorted(request.partition_key for request in first) == ["2025-01-01", "2025-01-02"]

    restarted = sensor(dg.build_sensor_context(cursor=context.cursor))
    assert isinstance(restarted, dg.SkipReason)

    time.sleep(0.01)
    changed = inbox / "2025-01-02" / "c.txt"
    changed.write_text("third")
    os.utime(changed)
    later = sensor(dg.build_sensor_context(cursor=context.cursor))
    assert [request.partition_key for request in later] == ["2025-01-02"]
    assert json.loads(context.cursor)["mtime_ns"] < changed.stat().st_mtime_ns


AT_REST_KEY = generate_key()


def test_inbox_tick_cost_does_not_grow_with_processed_files(tmp_path):
    from sensors.inbox import scan_inbox

    inbox = tmp_path / "inbox"
    for day in ("2025-01-01", "2025-01-02"):
        (inbox / day).mkdir(parents=True)
        for number in range(150):
            (inbox / day / f"doc_{number}.txt").write_text("old document")
    first = scan_inbox(inbox, 0)
    time.sleep(0.01)

    idle = scan_inbox(inbox, first.newest_ns)
    (inbox / "2025-01-03").mkdir()
    (inbox / "2025-01-03" / "new.txt").write_text("new document")
    busy = scan_inbox(inbox, first.newest_ns)

    assert first.files_examined == 300 and first.days == {"2025-01-01", "2025-01-02"}
    assert idle.files_examined == 0 and idle.days == set()
    assert busy.files_examined == 1 and busy.days == {"2025-01-03"}


@pytest.fixture
def stores(tmp_path):
    cloud = CloudStore(DirectoryBackend(tmp_path / "cloud"))
    onprem = OnPremStore(tmp_path / "onprem", AtRestCipher(AT_REST_KEY))
    return cloud, onprem


def test_promotion_sensor_sees_each_complete_version_once(tmp_path, stores):
    cloud, _ = stores
    registry = ModelRegistry(cloud)
    resource = CloudStoreResource(kind="dir", root=str(tmp_path / "cloud"))
    first = registry.register(tiny_weights(1), card())
    incomplete = "v20990101t000000m000z-deadbeef"
    cloud.backend.put(
        f"registry/sensitivity_model/versions/{incomplete}/model.safetensors", b"half written"
    )

    context = dg.build_sensor_context(cursor=None, resources={"cloud": resource})
    requests = model_promotion_sensor(context)
    assert [
        request.run_config["ops"]["promotion"]["config"]["version"] for request in requests
    ] == [first]

    again = model_promotion_sensor(
        dg.build_sensor_context(cursor=context.cursor, resources={"cloud": resource})
    )
    assert isinstance(again, dg.SkipReason)

    second = registry.register(tiny_weights(2), card())
    later = dg.build_sensor_context(cursor=context.cursor, resources={"cloud": resource})
    assert [request.run_key for request in model_promotion_sensor(later)] == [f"promote-{second}"]


def test_registry_refuses_cards_that_break_the_rules(stores):
    cloud, _ = stores
    registry = ModelRegistry(cloud)

    with pytest.raises(RegistryError, match="only anonymized or public"):
        registry.register(tiny_weights(1), card(training_data={"sensitivities": ["sensitive"]}))
    with pytest.raises(RegistryError, match="lacks required fields"):
        registry.register(tiny_weights(1), {"metrics": {}})

    version = registry.register(tiny_weights(3), card())
    weights_key = f"registry/sensitivity_model/versions/{version}/model.safetensors"
    cloud.backend.put(weights_key, cloud.backend.get(weights_key)[:100])
    with pytest.raises(RegistryError, match="corrupt or truncated"):
        registry.load(version)
    assert registry.versions() == [version]


@pytest.mark.parametrize(
    ("candidate", "current", "evaluated_on", "status"),
    [
        (0.8, None, 20, ModelStatus.PROMOTED),
        (0.5, None, 20, ModelStatus.REJECTED),
        (0.8, 0.8, 20, ModelStatus.PROMOTED),
        (0.79, 0.8, 20, ModelStatus.REJECTED),
        (0.99, None, 2, ModelStatus.REJECTED),
    ],
)
def test_promotion_decision(candidate, current, evaluated_on, status):
    decision = decide(
        {"balanced_accuracy": candidate},
        {"balanced_accuracy": current} if current is not None else None,
        evaluated_on,
    )

    assert decision.status is status
    assert decision.reason


def test_rollback_job_restores_the_previous_edge_model(tmp_path, stores):
    from assets.promotion import rollback_job

    cloud, onprem = stores
    registry = ModelRegistry(cloud)
    edge = EdgeModels(onprem)
    versions = []
    for seed in (1, 2):
        version = registry.register(tiny_weights(seed), card())
        edge.promote(version, registry.load(version).weights, card(), {"balanced_accuracy": 1})
        versions.append(version)

    key_file = tmp_path / "at_rest.key"
    key_file.write_bytes(AT_REST_KEY)
    result = rollback_job.execute_in_process(
        resources={
            "onprem": OnPremStoreResource(
                root=str(tmp_path / "onprem"), at_rest_key_ref=f"file:{key_file}"
            ),
            "cloud": CloudStoreResource(kind="dir", root=str(tmp_path / "cloud")),
        }
    )

    assert result.success
    assert edge.current()["version"] == versions[0]
    assert registry.status(versions[1]) is ModelStatus.ROLLED_BACK
    with pytest.raises(ValueError, match="no previous edge model"):
        edge.rollback()


def test_run_failure_sensor_records_the_failure_without_its_message(capfd):
    from sensors.failures import run_failure_recorder

    secret_note = "patient Jeanne Dupuis, 06 12 34 56 78"

    @dg.op
    def breaks() -> None:
        raise ValueError(f"could not parse {secret_note}")

    @dg.job
    def fragile() -> None:
        breaks()

    instance = dg.DagsterInstance.ephemeral()
    result = fragile.execute_in_process(instance=instance, raise_on_error=False)
    [failure] = [
        entry.dagster_event
        for entry in instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    ]
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failure_recorder",
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=failure,
    ).for_run_failure()

    capfd.readouterr()
    run_failure_recorder(context)

    logged = capfd.readouterr().err
    assert f"run {result.run_id} of job fragile failed" in logged
    assert "Jeanne" not in logged and "56 78" not in logged


@pytest.mark.slow
def test_a_candidate_is_decided_once_even_when_asked_twice(tmp_path, stores):
    from assets.promotion import promotion
    from hybrid_pipelines.egress import split_of

    cloud, onprem = stores
    holdout = []
    for number in range(400):
        doc_id = f"doc-{number}"
        if split_of(doc_id) == "holdout":
            sensitive = number % 2 == 0
            holdout.append(
                {
                    "doc_id": doc_id,
                    "split": "holdout",
                    "label": sensitive,
                    "language": "en",
                    "text": f"Call <PERSON_0123456789> at <PHONE_NUMBER_0123456789> ({number})"
                    if sensitive
                    else f"The canteen menu for week {number} is online.",
                    "entity_type_counts": {"PERSON": 1, "PHONE_NUMBER": 1} if sensitive else {},
                }
            )
    onprem.write_records("anonymized_documents", "2025-01-01", holdout)
    features = routing_model.features(
        [item["text"] for item in holdout], [item["entity_type_counts"] for item in holdout]
    )
    trained = routing_model.train_head(features, [int(item["label"]) for item in holdout])
    version = ModelRegistry(cloud).register(routing_model.serialise(trained.model), card())
    key_file = tmp_path / "at_rest.key"
    key_file.write_bytes(AT_REST_KEY)
    resources = {
        "onprem": OnPremStoreResource(
            root=str(tmp_path / "onprem"), at_rest_key_ref=f"file:{key_file}"
        ),
        "cloud": CloudStoreResource(kind="dir", root=str(tmp_path / "cloud")),
    }
    run_config = {"ops": {"promotion": {"config": {"version": version}}}}

    first = dg.materialize([promotion], resources=resources, run_config=run_config)
    second = dg.materialize([promotion], resources=resources, run_config=run_config)

    def decision(result) -> str:
        [event] = [
            item
            for item in result.get_asset_materialization_events()
            if item.asset_key == dg.AssetKey("candidate_evaluation")
        ]
        return event.materialization.metadata["decision"].value

    assert decision(first) == "promoted"
    assert decision(second) == "already promoted"
    assert [item["version"] for item in EdgeModels(onprem).history()] == [version]
    assert [event["status"] for event in ModelRegistry(cloud).status_history(version)] == [
        "candidate",
        "promoted",
    ]
