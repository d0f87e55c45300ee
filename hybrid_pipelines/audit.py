"""The append-only egress audit: one line per object that crossed to the cloud.

Each entry holds what crossed, when, its content hash, record and entity-type counts and
the run id, never content. Entries are chained by hash, so an edited or deleted line is
detected by `verify()`.
"""

import fcntl
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class EgressEntry:
    asset: str
    partition: str
    uri: str
    content_sha256: str
    size_bytes: int
    record_count: int
    held_back_count: int
    entity_type_counts: Mapping[str, int]
    run_id: str
    recorded_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())


class AuditTamperedError(RuntimeError):
    """The audit chain is broken: a line was changed, removed or reordered."""


class EgressAudit:
    """A JSON-lines file on-prem; appends are locked and fsynced."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _lines(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]

    @staticmethod
    def _chain_hash(previous: str, body: Mapping) -> str:
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256((previous + canonical).encode()).hexdigest()

    def append(self, entry: EgressEntry) -> dict:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            lines = [line for line in handle.read().splitlines() if line.strip()]
            previous = json.loads(lines[-1])["chain_hash"] if lines else GENESIS_HASH

            body = asdict(entry)
            body["entity_type_counts"] = dict(sorted(entry.entity_type_counts.items()))
            line = {
                **body,
                "previous_hash": previous,
                "chain_hash": self._chain_hash(previous, body),
            }

            handle.write(json.dumps(line, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        return line

    def entries(self) -> list[dict]:
        return self._lines()

    def verify(self) -> int:
        """Number of entries, after checking the whole chain."""
        previous = GENESIS_HASH
        lines = self._lines()
        for number, line in enumerate(lines, start=1):
            body = {
                key: value
                for key, value in line.items()
                if key not in {"previous_hash", "chain_hash"}
            }
            if line.get("previous_hash") != previous or (
                line.get("chain_hash") != self._chain_hash(previous, body)
            ):
                raise AuditTamperedError(
                    f"egress audit {self.path}: entry {number} does not "
                    "match the chain; the file was altered"
                )
            previous = line["chain_hash"]
        return len(lines)
