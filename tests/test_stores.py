"""Run-time enforcement: the cloud store's refusals, encryption at rest, the egress audit,
keyed pseudonyms and object keys."""

import json

import dagster as dg
import pytest

from hybrid_pipelines.anonymize import Pseudonymizer
from hybrid_pipelines.audit import AuditTamperedError, EgressAudit, EgressEntry
from hybrid_pipelines.crypto import AtRestCipher, WrongKeyError, generate_key
from hybrid_pipelines.egress import EgressRefusedError, clear_payload, judge
from hybrid_pipelines.identifiers import find_direct_identifiers
from hybrid_pipelines.pii import Finding
from hybrid_pipelines.placement import (
    CLOUD_ANONYMIZED,
    CLOUD_PUBLIC,
    ON_PREM_SENSITIVE,
    Location,
    Placement,
    PlacementError,
    Sensitivity,
)
from hybrid_pipelines.stores import (
    CloudStore,
    DirectoryBackend,
    EgressGateSigner,
    OnPremStore,
    decode_component,
    object_key,
    records_to_jsonl,
)
from resources.stores import CloudStoreResource

CLEAN = records_to_jsonl([{"doc_id": "a1", "text": "Meeting with <PERSON_0123456789> on Monday"}])


@pytest.fixture
def signer() -> EgressGateSigner:
    return EgressGateSigner(b"g" * 32)


@pytest.fixture
def cloud(tmp_path, signer) -> CloudStore:
    return CloudStore(DirectoryBackend(tmp_path / "bucket"), signer)


def bucket_files(tmp_path) -> list:
    return [path for path in (tmp_path / "bucket").rglob("*") if path.is_file()]


@pytest.mark.parametrize(
    ("placement", "payload", "clearance_for", "rule"),
    [
        (ON_PREM_SENSITIVE, CLEAN, None, "not cloud"),
        (Placement(Location.CLOUD, Sensitivity.SENSITIVE), CLEAN, None, "never leaves on-prem"),
        (CLOUD_ANONYMIZED, CLEAN, None, "needs a clearance"),
        (CLOUD_ANONYMIZED, CLEAN, b"another payload", "does not match this payload"),
        (CLOUD_PUBLIC, b'{"note": "mail jane.doe@example.com"}', None, "EMAIL_ADDRESS"),
        (CLOUD_PUBLIC, b"IBAN FR1420041010050500013M02606", None, "IBAN_CODE"),
        (CLOUD_PUBLIC, b"carte 4970 1012 3456 7893 fin", None, "CREDIT_CARD"),
    ],
)
def test_cloud_store_refuses_writes_that_break_the_rule(
    tmp_path, cloud, signer, placement, payload, clearance_for, rule
):
    clearance = signer.clear("corpus", clearance_for) if clearance_for else None

    with pytest.raises(PlacementError, match=rule) as refusal:
        cloud.write("corpus", placement, ["corpus", "2025-01-01.jsonl"], payload, clearance)

    assert "'corpus'" in str(refusal.value)
    assert bucket_files(tmp_path) == []


def test_cleared_anonymized_payload_lands(tmp_path, cloud, signer):
    written = cloud.write(
        "corpus", CLOUD_ANONYMIZED, ["corpus", "day.jsonl"], CLEAN, signer.clear("corpus", CLEAN)
    )

    assert written.uri.endswith("/corpus/day.jsonl")
    assert cloud.read(["corpus", "day.jsonl"]) == CLEAN


def test_a_forged_clearance_is_refused(tmp_path, cloud):
    forger = EgressGateSigner(b"not the on-prem key!!!!!!!!!!!!!")

    with pytest.raises(PlacementError, match="does not match"):
        cloud.write("corpus", CLOUD_ANONYMIZED, ["c"], CLEAN, forger.clear("corpus", CLEAN))


def test_an_asset_writing_raw_records_through_the_resource_is_refused(tmp_path):
    """Someone's own asset calls the cloud resource directly with sensitive data."""

    @dg.asset
    def careless_export(cloud: CloudStoreResource) -> None:
        store = cloud.store()
        store.write(
            "careless_export",
            ON_PREM_SENSITIVE,
            ["export.jsonl"],
            b'{"text": "Jane Doe, 12 rue de la Paix"}',
        )

    result = dg.materialize(
        [careless_export],
        resources={"cloud": CloudStoreResource(kind="dir", root=str(tmp_path / "bucket"))},
        raise_on_error=False,
    )

    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert "careless_export" in failure.to_string() and "not cloud" in failure.to_string()
    assert bucket_files(tmp_path) == []


def test_gate_holds_back_residual_identifiers_and_clears_pseudonyms(signer):
    assert judge("Call <PHONE_NUMBER_0a1b2c3d4e> tomorrow", []).cleared
    verdict = judge("Call 06 12 34 56 78 or write to a@b.fr", [])
    assert not verdict.cleared
    assert verdict.residual_types == ("EMAIL_ADDRESS", "PHONE_NUMBER")
    assert not judge("text", [{"start": 0, "end": 4, "type": "US_SSN", "score": 0.9}]).cleared

    with pytest.raises(EgressRefusedError, match="EMAIL_ADDRESS"):
        clear_payload(signer, "corpus", b'{"text": "reach me at x.y@corp.example"}')


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("ssn 078-05-1120", {"US_SSN", "PHONE_NUMBER"}),
        ("NIR 2 84 05 2A 004 001 21", {"PHONE_NUMBER"}),
        ("on 2019-01-02 and 12.03.2019", set()),
        ("NIR 1 85 05 78 006 084 91", {"FR_NIR", "PHONE_NUMBER"}),
        ("visa 4111 1111 1111 1111", {"CREDIT_CARD", "LONG_NUMBER"}),
        ("not a card 4111 1111 1111 1112", {"LONG_NUMBER"}),
        ("NIR spaced over lines 2 9 6 0 6\n0 2 5 8 6 4 9 3 1 2 3 4", {"LONG_NUMBER"}),
        ("call +33 6 12 34 56 78 or desk630-555-0147", {"PHONE_NUMBER"}),
        ("from 10.12.0.254 and 2001:db8::1 or fe80:0:0:0:2:3:4:5", {"IP_ADDRESS"}),
        ("ticket 6033391 closed at 08:51:06", set()),
        ("digest 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", set()),
    ],
)
def test_strict_identifier_patterns(text, kinds):
    assert {identifier.kind for identifier in find_direct_identifiers(text)} == kinds


def test_on_prem_records_are_encrypted_and_a_wrong_key_fails_clearly(tmp_path):
    key = generate_key()
    store = OnPremStore(tmp_path, AtRestCipher(key))
    store.write_records("raw_documents", "2025-01-01", [{"text": "Jeanne Martin, née le 3 mai"}])

    [encrypted] = [path for path in tmp_path.rglob("*.enc")]
    assert b"Jeanne" not in encrypted.read_bytes()
    assert store.read_records("raw_documents", "2025-01-01")[0]["text"].startswith("Jeanne")

    stranger = OnPremStore(tmp_path, AtRestCipher(generate_key()))
    with pytest.raises(WrongKeyError, match="at-rest key does not match"):
        stranger.read_records("raw_documents", "2025-01-01")
    with pytest.raises(ValueError, match="Fernet key"):
        AtRestCipher("not-a-key")


def test_pseudonyms_are_stable_per_key_and_change_with_it():
    first, again, other = (
        Pseudonymizer(b"k" * 32),
        Pseudonymizer(b"k" * 32),
        Pseudonymizer(b"z" * 32),
    )
    text = "Jean Dupont called 06 12 34 56 78"
    findings = [Finding(0, 11, "PERSON", 0.9), Finding(19, 33, "PHONE_NUMBER", 0.8)]

    assert first.anonymize(text, findings) == again.anonymize(text, findings)
    assert first.anonymize(text, findings) != other.anonymize(text, findings)
    assert first.token("PHONE_NUMBER", "06 12 34 56 78") == first.token(
        "PHONE_NUMBER", "0612345678"
    )
    assert first.token("PERSON", "Jean  DUPONT") == first.token("PERSON", "jean dupont")
    assert "Dupont" not in first.anonymize(text, findings)
    with pytest.raises(ValueError, match="at least 16 bytes"):
        Pseudonymizer(b"short")


def test_adjacent_same_type_values_each_get_their_own_token():
    text = "alice@example.com bob@example.org carol@example.net"
    findings = [
        Finding(0, 17, "EMAIL_ADDRESS", 1.0),
        Finding(18, 33, "EMAIL_ADDRESS", 1.0),
        Finding(34, 51, "EMAIL_ADDRESS", 1.0),
    ]

    anonymized = Pseudonymizer(b"k" * 32).anonymize(text, findings)

    assert anonymized.count("<EMAIL_ADDRESS_") == 3
    assert "@" not in anonymized


def test_egress_audit_is_chained_and_detects_tampering(tmp_path):
    audit = EgressAudit(tmp_path / "audit.jsonl")
    for partition in ("2025-01-01", "2025-01-02"):
        audit.append(
            EgressEntry(
                "training_corpus",
                partition,
                f"s3://b/{partition}",
                "ab" * 32,
                100,
                3,
                1,
                {"PERSON": 2},
                "run-1",
            )
        )

    assert audit.verify() == 2
    entries = audit.entries()
    assert entries[1]["previous_hash"] == entries[0]["chain_hash"]

    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    forged = json.loads(lines[0]) | {"record_count": 999}
    (tmp_path / "audit.jsonl").write_text(json.dumps(forged) + "\n" + lines[1] + "\n")
    with pytest.raises(AuditTamperedError, match="entry 1"):
        audit.verify()


@pytest.mark.parametrize(
    "partition",
    ["2025-01-01", "a/b", "a%2Fb", "..", ".", "", "with space", "é/ü", "?#&+=", "x" * 300],
)
def test_object_keys_round_trip_and_stay_inside_the_store(tmp_path, partition):
    backend = DirectoryBackend(tmp_path / "bucket")
    key = object_key("corpus", partition)
    backend.put(key, partition.encode())

    if len(partition) < 100:
        assert [decode_component(part) for part in key.split("/")] == ["corpus", partition]
    assert backend.get(key) == partition.encode()
    assert backend.list("corpus/") == [key]
    assert (tmp_path / "bucket" / "corpus").is_dir()


def test_object_keys_never_collide():
    partitions = [
        "a/b",
        "a%2Fb",
        "a_b",
        "a b",
        "..",
        ".",
        "",
        "%2E%2E",
        "~",
        "%7E",
        "x" * 300,
        "x" * 299 + "y",
    ]
    assert len({object_key("corpus", partition) for partition in partitions}) == len(partitions)
