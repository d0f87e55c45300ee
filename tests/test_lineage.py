"""The whole lineage on real labelled data, offline, with the privacy promises checked after.

One module-scoped run of `hybrid-pipelines run` on a sample of all three shared sets, in a
subprocess whose every Python process refuses outbound sockets; the tests then read what
each stage left on-prem, in the cloud store and in the Dagster home.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hybrid_pipelines.crypto import AtRestCipher
from hybrid_pipelines.leak_scan import LABELLED_DIRECT_TYPES, identifiers_found, values_found
from hybrid_pipelines.stores import OnPremStore
from tests.conftest import REPO_ROOT, write_shared_sample

pytestmark = pytest.mark.slow

PER_SET = 40
SHARED_EMAIL = "marguerite.fontaine@hopital-exemple.fr"
SHARED_NAME = "Marguerite Fontaine"


def guarded_environment(home: Path) -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("HYBRID_", "DAGSTER_"))
    }
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT / "tests" / "socket_guard"), str(REPO_ROOT)]
    )
    environment["HYBRID_SOCKET_GUARD_LOG"] = str(home.parent / "refused_connections.log")
    environment["HYBRID_RAY_NUM_CPUS"] = "2"
    return environment


def run_cli(*arguments: str, home: Path) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).parent / "hybrid-pipelines"), *arguments]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=1500,
        env=guarded_environment(home),
        cwd=home.parent,
    )


@pytest.fixture(scope="module")
def lineage(shared_data, tmp_path_factory):
    # Digits in the deployment's paths (an account number) are configuration, not data.
    root = tmp_path_factory.mktemp("lineage-acct-123456789012-")
    inbox, home = root / "inbox", root / "home"
    labelled = write_shared_sample(shared_data, inbox, per_set=PER_SET)
    (inbox / "followup_1.txt").write_text(
        f"Please ask {SHARED_NAME} ({SHARED_EMAIL}) to confirm the appointment."
    )
    (inbox / "followup_2.txt").write_text(
        f"{SHARED_NAME} wrote from {SHARED_EMAIL} about her discharge letter."
    )

    completed = run_cli("run", "--inbox", str(inbox), "--home", str(home), home=home)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]

    key = (home / "onprem" / "keys" / "at_rest.key").read_bytes()
    return {
        "home": home,
        "inbox": inbox,
        "labelled": labelled,
        "stdout": completed.stdout,
        "onprem": OnPremStore(home / "onprem", AtRestCipher(key)),
        "root": root,
    }


def records(lineage, asset: str) -> list[dict]:
    store = lineage["onprem"]
    return [
        record
        for partition in store.partitions(asset)
        for record in store.read_records(asset, partition)
    ]


def test_every_stage_produced_its_records(lineage):
    raw = records(lineage, "raw_documents")
    findings = records(lineage, "pii_findings")
    cleared = records(lineage, "anonymized_documents")
    held_back = records(lineage, "egress_quarantine")
    routed = records(lineage, "document_routing")

    assert len(raw) == 3 * PER_SET + 2
    assert {document["language"] for document in raw} == {"en", "fr"}
    assert len(findings) == len(raw)
    assert sum(bool(item["findings"]) for item in findings) > len(raw) / 2
    assert len(cleared) + len(held_back) == len(raw)
    assert len(routed) == len(raw)
    assert sum(document["label"] is not None for document in raw) == PER_SET
    for line in (
        "raw_documents",
        "pii_findings",
        "training_corpus",
        "edge_model",
        "document_routing",
    ):
        assert line in lineage["stdout"]


def test_pseudonyms_are_consistent_across_documents(lineage):
    followups = [
        record["text"]
        for record in records(lineage, "anonymized_documents")
        + records(lineage, "egress_quarantine")
        if "appointment" in record["text"] or "discharge letter" in record["text"]
    ]

    assert len(followups) == 2
    tokens = [set(re.findall(r"<EMAIL_ADDRESS_[0-9a-f]+>", text)) for text in followups]
    assert tokens[0] and tokens[0] == tokens[1]
    assert all(SHARED_EMAIL not in text for text in followups)


def test_candidate_was_registered_promoted_and_used_for_routing(lineage):
    cloud = lineage["home"] / "cloud" / "registry" / "sensitivity_model"
    versions = sorted(path.parent.name for path in cloud.glob("versions/*/COMPLETE"))
    history = json.loads(lineage["onprem"].read_blob("edge_model/history.json"))
    statuses = [
        json.loads(path.read_text())["status"]
        for path in sorted((cloud / "status" / versions[0]).iterdir())
    ]
    card = json.loads((cloud / "versions" / versions[0] / "card.json").read_text())

    assert len(versions) == 1
    assert statuses == ["candidate", "promoted"]
    assert history[-1]["version"] == versions[0]
    assert card["training_data"]["sensitivities"] == ["anonymized"]
    assert card["training_data"]["objects"][0]["sha256"]
    assert {item["model_version"] for item in records(lineage, "document_routing")} == {versions[0]}


def labelled_values(lineage, kinds: set[str] | None = None) -> list[str]:
    return [
        value
        for set_name in ("english", "french")
        for kind, value in lineage["labelled"][set_name]
        if kinds is None or kind in kinds
    ]


def test_no_direct_identifier_reaches_the_cloud_store(lineage):
    cloud = lineage["home"] / "cloud"

    assert any(cloud.rglob("*.jsonl"))
    # The model card's lineage names objects by their URI, under the store's own location.
    assert identifiers_found(cloud, configured=[cloud.resolve().as_uri() + "/"]) == {}
    assert values_found(cloud, labelled_values(lineage, LABELLED_DIRECT_TYPES)) == []


def test_the_dagster_home_holds_no_labelled_value(lineage):
    """Event log (SQLite), run storage and compute logs: counts and types only."""
    dagster_home = lineage["home"] / "dagster"
    values = [*labelled_values(lineage), SHARED_EMAIL, SHARED_NAME]

    assert len([path for path in dagster_home.rglob("*") if path.is_file()]) > 3
    assert values_found(dagster_home, values) == []


def test_the_run_opened_no_outbound_connection(lineage):
    log = lineage["root"] / "refused_connections.log"
    assert not log.exists() or log.read_text() == ""


def test_a_backfill_of_the_same_documents_gives_the_same_pseudonyms(lineage):
    before = sorted(
        (record["doc_id"], record["text"]) for record in records(lineage, "anonymized_documents")
    )

    completed = run_cli(
        "run",
        "--inbox",
        str(lineage["inbox"]),
        "--home",
        str(lineage["home"]),
        home=lineage["home"],
    )

    assert completed.returncode == 0, completed.stdout[-2000:]
    after = sorted(
        (record["doc_id"], record["text"]) for record in records(lineage, "anonymized_documents")
    )
    assert after == before


def test_the_audit_command_prints_every_crossing(lineage):
    completed = run_cli("audit", "--home", str(lineage["home"]), "--json", home=lineage["home"])

    entries = json.loads(completed.stdout)
    assert completed.returncode == 0
    assert entries and all(entry["asset"] == "training_corpus" for entry in entries)
    assert all(
        entry["uri"].startswith("file://") and len(entry["content_sha256"]) == 64
        for entry in entries
    )
    assert {"record_count", "held_back_count", "entity_type_counts", "run_id"} <= set(entries[0])
