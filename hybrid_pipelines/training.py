"""Fine-tuning entry point, run through Dagster Pipes.

The same module runs as a local subprocess in the embedded default and as a Kubernetes
pod in production: `python -m hybrid_pipelines.training`. It reads the training corpus
from the cloud store named in the Pipes extras, trains the sensitivity head, registers
the model with its card and reports metrics (never text) back through Pipes.
"""

import logging
import random
import time
from collections import Counter

from hybrid_pipelines import routing_model
from hybrid_pipelines.charts import sparkline
from hybrid_pipelines.registry import ModelRegistry
from hybrid_pipelines.s3 import backend_from_spec
from hybrid_pipelines.stores import CloudStore, jsonl_to_records, sha256_hex

logger = logging.getLogger(__name__)

CORPUS_ASSET = "training_corpus"
VALIDATION_SHARE = 0.2


def read_corpus(store: CloudStore) -> tuple[list[dict], list[dict]]:
    """All corpus records and, per object, its lineage entry (partition, hash, count)."""
    records: list[dict] = []
    lineage: list[dict] = []
    for parts in store.list([CORPUS_ASSET]):
        payload = store.read(parts)
        objects = jsonl_to_records(payload)
        records.extend(objects)
        lineage.append(
            {
                "asset_key": CORPUS_ASSET,
                "partition": parts[-1].removesuffix(".jsonl"),
                "uri": store.uri("/".join(parts)),
                "sha256": sha256_hex(payload),
                "records": len(objects),
            }
        )
    return records, lineage


def split_for_validation(records: list[dict], seed: int) -> tuple[list[dict], list[dict]]:
    shuffled = sorted(records, key=lambda record: record["doc_id"])
    random.Random(seed).shuffle(shuffled)
    cut = max(1, int(len(shuffled) * VALIDATION_SHARE)) if len(shuffled) > 4 else 0
    return shuffled[cut:], shuffled[:cut]


def train_and_register(store_spec: dict, *, epochs: int, seed: int, run_id: str) -> dict:
    """Train on the whole corpus in the store and register a candidate; returns the report."""
    started = time.monotonic()
    store = CloudStore(backend_from_spec(store_spec))
    records, lineage = read_corpus(store)
    if len(records) < 2:
        raise ValueError(f"the training corpus has {len(records)} records; need at least 2")
    labels_present = {record["label"] for record in records}
    if labels_present != {0, 1}:
        raise ValueError(
            f"the training corpus holds only labels {sorted(labels_present)}; "
            "both sensitive and non-sensitive examples are needed"
        )

    train, validation = split_for_validation(records, seed)

    def matrix(items: list[dict]):
        return routing_model.features(
            [item["text"] for item in items], [item["entity_type_counts"] for item in items]
        )

    result = routing_model.train_head(
        matrix(train), [item["label"] for item in train], epochs=epochs, seed=seed
    )
    validation_metrics = (
        routing_model.classification_metrics(
            [item["label"] for item in validation],
            routing_model.predict(result.model, matrix(validation)),
        )
        if validation
        else {}
    )

    weights = routing_model.serialise(result.model)
    label_sources = Counter(record.get("label_source", "unknown") for record in records)
    card = {
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "task": "document sensitivity (1 = sensitive)",
        "encoder": routing_model.ENCODER_PACKAGE,
        "entity_features": list(routing_model.ENTITY_FEATURES),
        "metrics": {"train": result.train_metrics, "validation": validation_metrics},
        "loss_curve": result.loss_curve,
        "training_data": {
            "sensitivities": ["anonymized"],
            "objects": lineage,
            "records": len(records),
            "train_records": len(train),
            "validation_records": len(validation),
        },
        "labels": {
            "sources": dict(label_sources),
            "derivation": "label field or column of the document where present; otherwise "
            "weak label: sensitive when PII detection found any entity",
        },
        "hyperparameters": {
            "epochs": epochs,
            "seed": seed,
            "hidden_units": routing_model.HIDDEN_UNITS,
        },
        "run_id": run_id,
    }
    registry = ModelRegistry(store)
    version = registry.register(weights, card)
    return {
        "version": version,
        "uri": registry.uri(version),
        "metrics": card["metrics"],
        "loss_curve": result.loss_curve,
        "records": len(records),
        "seconds": round(time.monotonic() - started, 2),
    }


def main() -> None:
    from dagster_pipes import open_dagster_pipes

    with open_dagster_pipes() as pipes:
        extras = pipes.extras
        report = train_and_register(
            extras["store"],
            epochs=int(extras.get("epochs", 60)),
            seed=int(extras.get("seed", 7)),
            run_id=str(extras.get("run_id", "")),
        )
        pipes.log.info(
            f"registered model version {report['version']} from {report['records']} corpus records"
        )
        pipes.report_asset_materialization(
            metadata={
                "model_version": report["version"],
                "registry_uri": {"raw_value": report["uri"], "type": "url"},
                "corpus_records": report["records"],
                "train_f1": report["metrics"]["train"]["f1"],
                "validation_f1": report["metrics"]["validation"].get("f1", 0.0),
                "validation_accuracy": report["metrics"]["validation"].get("accuracy", 0.0),
                "final_loss": report["loss_curve"][-1],
                "epochs": len(report["loss_curve"]),
                "loss_curve_chart": {
                    "raw_value": sparkline(report["loss_curve"], "Training loss per epoch"),
                    "type": "md",
                },
                "training_seconds": report["seconds"],
            }
        )


if __name__ == "__main__":
    main()
