"""Promotion decisions and the edge model history kept on-prem."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from hybrid_pipelines.registry import ALLOWED_TRAINING_SENSITIVITIES, ModelStatus
from hybrid_pipelines.stores import OnPremStore

TRIVIAL_BASELINE = 0.5  # balanced accuracy of any constant classifier
HISTORY_BLOB = "edge_model/history.json"
MIN_EVALUATION_RECORDS = 4


@dataclass(frozen=True)
class Decision:
    status: ModelStatus
    reason: str


def decide(candidate: dict, current: dict | None, evaluated_on: int) -> Decision:
    """Promote when the candidate is at least as good as the current model (balanced
    accuracy); the first one must beat the trivial baseline."""
    score = candidate["balanced_accuracy"]
    if evaluated_on < MIN_EVALUATION_RECORDS:
        return Decision(
            ModelStatus.REJECTED,
            f"only {evaluated_on} labelled on-prem evaluation "
            f"records; need {MIN_EVALUATION_RECORDS}",
        )
    if current is None:
        if score > TRIVIAL_BASELINE:
            return Decision(
                ModelStatus.PROMOTED,
                f"first model; balanced accuracy {score:.3f} "
                f"beats the trivial baseline {TRIVIAL_BASELINE}",
            )
        return Decision(
            ModelStatus.REJECTED,
            f"balanced accuracy {score:.3f} does not beat the trivial baseline {TRIVIAL_BASELINE}",
        )
    if score >= current["balanced_accuracy"]:
        return Decision(
            ModelStatus.PROMOTED,
            f"balanced accuracy {score:.3f} >= current {current['balanced_accuracy']:.3f}",
        )
    return Decision(
        ModelStatus.REJECTED,
        f"balanced accuracy {score:.3f} < current {current['balanced_accuracy']:.3f}",
    )


def evaluation_set(store: OnPremStore) -> list[dict]:
    """Labelled holdout records of every partition (explicit labels; weak labels from PII
    findings where a document carries none), never sent to the cloud."""
    stored = store.read_partitions("anonymized_documents", store.partitions("anonymized_documents"))
    return [
        {
            **record,
            "label": int(
                record["label"]
                if record["label"] is not None
                else bool(record["entity_type_counts"])
            ),
        }
        for record in stored
        if record["split"] == "holdout"
    ]


class EdgeModels:
    """Promoted models on-prem: their weights and an ordered history (last is current)."""

    def __init__(self, store: OnPremStore) -> None:
        self.store = store

    def history(self) -> list[dict]:
        if not self.store.has_blob(HISTORY_BLOB):
            return []
        return json.loads(self.store.read_blob(HISTORY_BLOB))

    def current(self) -> dict | None:
        history = self.history()
        return history[-1] if history else None

    def weights(self, version: str) -> bytes:
        return self.store.read_blob(f"edge_model/{version}.safetensors")

    def promote(self, version: str, weights: bytes, card: dict, scores: dict) -> None:
        sensitivities = set(card["training_data"]["sensitivities"])
        if not sensitivities <= ALLOWED_TRAINING_SENSITIVITIES:
            raise ValueError(
                f"model {version} saw data of sensitivity {sorted(sensitivities)}; "
                "it cannot be promoted"
            )
        self.store.write_blob(f"edge_model/{version}.safetensors", weights)
        history = self.history()
        history.append(
            {"version": version, "promoted_at": datetime.now(UTC).isoformat(), "scores": scores}
        )
        self.store.write_blob(HISTORY_BLOB, json.dumps(history).encode())

    def rollback(self) -> tuple[str, str]:
        history = self.history()
        if len(history) < 2:
            raise ValueError("no previous edge model to roll back to")
        rolled_back = history.pop()
        self.store.write_blob(HISTORY_BLOB, json.dumps(history).encode())
        return rolled_back["version"], history[-1]["version"]
