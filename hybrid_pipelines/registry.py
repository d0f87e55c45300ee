"""The model registry on the cloud store.

A version is immutable once its `COMPLETE` marker exists: weights, then the card, then
the marker, so a reader never takes a half-written version for a finished one. Status
changes (promoted, rejected, rolled back) are separate, append-only event objects.
"""

import json
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from hybrid_pipelines.placement import CLOUD_PUBLIC, Sensitivity
from hybrid_pipelines.stores import CloudStore, sha256_hex

logger = logging.getLogger(__name__)

REGISTRY_ASSET = "sensitivity_model_candidate"
REQUIRED_CARD_FIELDS = (
    "version",
    "created_at",
    "metrics",
    "training_data",
    "labels",
    "weights_sha256",
    "encoder",
)
ALLOWED_TRAINING_SENSITIVITIES = {Sensitivity.ANONYMIZED.value, Sensitivity.PUBLIC.value}


class ModelStatus(StrEnum):
    CANDIDATE = "candidate"
    PROMOTED = "promoted"
    REJECTED = "rejected"
    ROLLED_BACK = "rolled_back"


class RegistryError(ValueError):
    """A registry object is missing, corrupt or inconsistent."""


@dataclass(frozen=True)
class ModelVersion:
    version: str
    card: dict
    weights: bytes


def _stamp() -> str:
    # Letters between the date and time parts keep digit runs short, so ids and stamps
    # never look like phone numbers to the strict identifier scan of the cloud store.
    return datetime.now(UTC).strftime("%Y%m%dt%H%M%Sm%f")[:-3] + "z"


def new_version_id(weights: bytes) -> str:
    """Sortable by time, unique by content."""
    return f"v{_stamp()}-{sha256_hex(weights)[:8]}"


class ModelRegistry:
    def __init__(self, store: CloudStore, name: str = "sensitivity_model") -> None:
        self.store = store
        self.name = name

    def _key(self, *parts: str) -> list[str]:
        return ["registry", self.name, *parts]

    def register(self, weights: bytes, card: dict) -> str:
        version = card.get("version") or new_version_id(weights)
        card = {**card, "version": version, "weights_sha256": sha256_hex(weights)}
        validate_card(card, name=version)
        if self.store.exists(self._key("versions", version, "COMPLETE")):
            raise RegistryError(f"model version {version} already exists; versions are immutable")

        card_bytes = json.dumps(card, sort_keys=True, indent=2).encode()
        self.store.write(
            REGISTRY_ASSET,
            CLOUD_PUBLIC,
            self._key("versions", version, "model.safetensors"),
            weights,
        )
        self.store.write(
            REGISTRY_ASSET, CLOUD_PUBLIC, self._key("versions", version, "card.json"), card_bytes
        )
        marker = json.dumps(
            {"weights_sha256": card["weights_sha256"], "card_sha256": sha256_hex(card_bytes)}
        ).encode()
        self.store.write(
            REGISTRY_ASSET, CLOUD_PUBLIC, self._key("versions", version, "COMPLETE"), marker
        )
        self.set_status(version, ModelStatus.CANDIDATE, {"reason": "registered"})
        return version

    def uri(self, version: str) -> str:
        return self.store.uri("/".join(self._key("versions", version)))

    def versions(self) -> list[str]:
        """Complete versions, oldest first (ids sort by time)."""
        found = {
            parts[3]
            for parts in self.store.list(self._key("versions"))
            if len(parts) == 5 and parts[4] == "COMPLETE"
        }
        return sorted(found)

    def load(self, version: str) -> ModelVersion:
        if not self.store.exists(self._key("versions", version, "COMPLETE")):
            raise RegistryError(f"model version {version} is not complete in the registry")
        marker = json.loads(self.store.read(self._key("versions", version, "COMPLETE")))
        weights = self.store.read(self._key("versions", version, "model.safetensors"))
        card_bytes = self.store.read(self._key("versions", version, "card.json"))

        if sha256_hex(weights) != marker["weights_sha256"]:
            raise RegistryError(
                f"model version {version}: weights do not match their recorded "
                "hash (corrupt or truncated file)"
            )
        if sha256_hex(card_bytes) != marker["card_sha256"]:
            raise RegistryError(f"model version {version}: card does not match its recorded hash")
        try:
            card = json.loads(card_bytes)
        except json.JSONDecodeError:
            raise RegistryError(f"model version {version}: card is not valid JSON") from None
        validate_card(card, name=version)
        return ModelVersion(version, card, weights)

    def set_status(self, version: str, status: ModelStatus, details: dict) -> None:
        """Append one status event. Its key starts with its position in the history and ends
        with a random token, so two events (even in the same millisecond, even from two
        writers) never overwrite each other, and one writer's events keep their order."""
        stamp = _stamp()
        sequence = sum(1 for _ in self.store.list(self._key("status", version)))
        event = json.dumps(
            {
                "version": version,
                "status": status.value,
                "at": stamp,
                "sequence": sequence,
                **details,
            },
            sort_keys=True,
        ).encode()
        name = f"{sequence:06d}-{stamp}-{secrets.token_hex(4)}-{status.value}.json"
        self.store.write(REGISTRY_ASSET, CLOUD_PUBLIC, self._key("status", version, name), event)

    def status_history(self, version: str) -> list[dict]:
        """Status events, oldest first (events written before sequence numbers come first)."""
        events = [
            (parts[-1], json.loads(self.store.read(parts)))
            for parts in self.store.list(self._key("status", version))
        ]
        events.sort(key=lambda item: (item[1].get("sequence", -1), item[0]))
        return [event for _, event in events]

    def status(self, version: str) -> ModelStatus | None:
        history = self.status_history(version)
        return ModelStatus(history[-1]["status"]) if history else None


def validate_card(card: dict, *, name: str) -> None:
    missing = [field for field in REQUIRED_CARD_FIELDS if field not in card]
    if missing:
        raise RegistryError(f"model card of {name} lacks required fields {missing}")
    sensitivities = set(card["training_data"].get("sensitivities", []))
    if not sensitivities or not sensitivities <= ALLOWED_TRAINING_SENSITIVITIES:
        raise RegistryError(
            f"model card of {name} says it was trained on data of sensitivity "
            f"{sorted(sensitivities) or 'unknown'}; only anonymized or public data is allowed"
        )
