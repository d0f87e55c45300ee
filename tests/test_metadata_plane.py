"""The metadata plane: what Dagster stores must never carry a raw value."""

import dagster as dg
import pytest

from assets.common import materialized, protect_logs
from hybrid_pipelines.expectations import validate_documents
from hybrid_pipelines.privacy import MetadataLeakError, check_metadata, redact

RAW_EMAIL = "claire.moreau@clinique-exemple.fr"
RAW_PHONE = "+33 6 12 34 56 78"


def test_redact_replaces_identifiers_by_their_type():
    assert redact(f"write to {RAW_EMAIL} or call {RAW_PHONE}") == (
        "write to [EMAIL_ADDRESS] or call [PHONE_NUMBER]"
    )
    assert redact("42 documents, 3 quarantined") == "42 documents, 3 quarantined"


def test_a_log_call_with_a_raw_value_reaches_the_instance_redacted():
    @dg.asset
    def chatty(context: dg.AssetExecutionContext) -> None:
        protect_logs(context)
        context.log.warning(f"could not route the note of {RAW_EMAIL} ({RAW_PHONE})")

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([chatty], instance=instance)

    messages = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert any("could not route the note of [EMAIL_ADDRESS]" in message for message in messages)
    assert not any(RAW_EMAIL in message or "56 78" in message for message in messages)


@pytest.mark.parametrize(
    "metadata",
    [
        {"first_document": "Dear team, Claire Moreau was admitted yesterday " * 8},
        {"contact": RAW_EMAIL},
        {
            "table": dg.MetadataValue.table(
                records=[dg.TableRecord({"value": RAW_PHONE})],
                schema=dg.TableSchema(columns=[dg.TableColumn("value", "string")]),
            )
        },
        {"nested": dg.MetadataValue.json({"sample": ["ok", "card 4111 1111 1111 1111"]})},
    ],
)
def test_metadata_with_text_or_identifiers_is_refused(metadata):
    with pytest.raises(MetadataLeakError) as refusal:
        check_metadata("asset 'x'", metadata)

    assert RAW_EMAIL not in str(refusal.value) and RAW_PHONE not in str(refusal.value)
    assert next(iter(metadata)) in str(refusal.value)


def test_an_asset_that_previews_content_fails_without_storing_it():
    @dg.asset
    def preview(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        return materialized(metadata={"dagster/row_count": 1, "preview": f"mail {RAW_EMAIL}"})

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([preview], instance=instance, raise_on_error=False)

    assert not result.success
    stored = " ".join(
        str(entry.dagster_event) + entry.user_message for entry in instance.all_logs(result.run_id)
    )
    assert "preview" in stored and RAW_EMAIL not in stored


def test_counts_types_and_versions_pass():
    metadata = {
        "dagster/row_count": 12,
        "entity_types": {"PERSON": 3, "EMAIL_ADDRESS": 1},
        "model_version": "v20261204t153947m137z-40e67483",
        "device": "cpu",
    }

    assert check_metadata("asset 'x'", metadata) == metadata


def test_expectation_suite_reports_names_and_outcomes_only():
    rows = [
        {
            "doc_id": "a",
            "language": "en",
            "text": f"contact {RAW_EMAIL}",
            "arrival_date": "2025-01-01",
        },
        {"doc_id": "a", "language": "de", "text": "x", "arrival_date": "yesterday"},
    ]

    outcome = validate_documents(rows, languages=["en", "fr"], max_chars=1000)

    assert not outcome.success
    assert outcome.rows == 2
    assert outcome.expectations["expect_column_values_to_be_unique:doc_id"] is False
    assert outcome.expectations["expect_column_values_to_not_be_null:doc_id"] is True
    assert outcome.expectations["expect_column_values_to_be_in_set:language"] is False
    assert RAW_EMAIL not in repr(outcome)


def test_key_fingerprints_always_pass_the_metadata_guard():
    """A fingerprint is hex: with too few digits, a run of decimal ones read as a phone
    number and failed one run in twenty, at random, with a fresh key."""
    import hashlib

    from resources.keys import key_fingerprint

    for index in range(3000):
        key = hashlib.sha256(index.to_bytes(4, "big")).digest()
        fingerprint = key_fingerprint(key)

        assert check_metadata("anonymized_documents", {"pseudonym_key_fingerprint": fingerprint})


def test_a_store_location_with_digits_is_configuration_not_an_identifier():
    """Bucket names and paths often hold an account number or a date; a store URI built on
    them failed the guard as a phone number, at random with generated bucket names."""
    prefix = "s3://ml-corpus-123456789012/hybrid/cloud/"
    metadata = {"first_object_uri": prefix + "training_corpus/2024-01-01.jsonl"}

    with pytest.raises(MetadataLeakError):
        check_metadata("training_corpus", metadata)
    assert check_metadata("training_corpus", metadata, configured=[prefix]) == metadata


def test_configured_prefixes_do_not_hide_identifiers_elsewhere():
    prefix = "s3://ml-corpus-123456789012/hybrid/cloud/"
    metadata = {"first_object_uri": f"{prefix}training_corpus/{RAW_PHONE}.jsonl"}

    with pytest.raises(MetadataLeakError):
        check_metadata("training_corpus", metadata, configured=[prefix])
