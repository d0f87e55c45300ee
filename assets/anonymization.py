"""anonymized_documents and egress_quarantine: the egress boundary, and its blocking gate."""

import time
from collections import Counter

import dagster as dg
from dagster_ray import RayResource

from assets.common import (
    DAILY_PARTITIONS,
    DATA_OWNERS,
    SINGLE_RUN_BACKFILL,
    checked_records,
    histogram,
    histogram_table,
    materialized,
    placement_tags,
    protect_logs,
)
from assets.detection import pii_findings
from hybrid_pipelines.distributed import detect_on_ray
from hybrid_pipelines.egress import judge, split_of
from hybrid_pipelines.identifiers import find_direct_identifiers
from hybrid_pipelines.pii import DEFAULT_SCORE_THRESHOLD, SUPPORTED_LANGUAGES, Finding
from hybrid_pipelines.placement import (
    ON_PREM_ANONYMIZED,
    ON_PREM_SENSITIVE,
    RESIDUAL_PII_CHECK,
)
from hybrid_pipelines.privacy import check_metadata
from resources.evaluation import TokenModelFolder
from resources.keys import PrivacyKeys
from resources.stores import OnPremStoreResource

ANONYMIZED = "anonymized_documents"
QUARANTINE = "egress_quarantine"


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            ANONYMIZED,
            deps=[pii_findings, "raw_documents"],
            tags=placement_tags(ON_PREM_ANONYMIZED, egress_boundary=True),
            kinds={"presidio", "ray"},
            owners=DATA_OWNERS,
            group_name="anonymization",
            description="Documents with every finding replaced by a keyed pseudonym; the only "
            "records allowed to leave on-prem once the residual-PII gate passes.",
        ),
        dg.AssetSpec(
            QUARANTINE,
            deps=[pii_findings, "raw_documents"],
            tags=placement_tags(ON_PREM_SENSITIVE),
            kinds={"presidio"},
            owners=DATA_OWNERS,
            group_name="anonymization",
            description="Anonymized records held back on-prem because a second scan still "
            "found a direct identifier in them.",
        ),
    ],
    partitions_def=DAILY_PARTITIONS,
    backfill_policy=SINGLE_RUN_BACKFILL,
)
def anonymization(
    context: dg.AssetExecutionContext,
    onprem: OnPremStoreResource,
    keys: PrivacyKeys,
    ray_cluster: RayResource,
    token_model: TokenModelFolder,
):
    protect_logs(context)
    started = time.monotonic()
    store = onprem.store()
    pseudonymizer = keys.pseudonymizer()
    partitions = sorted(context.partition_keys)

    documents = store.read_partitions("raw_documents", partitions)
    findings_by_id = {
        record["doc_id"]: record["findings"]
        for record in store.read_partitions("pii_findings", partitions)
    }

    anonymized_texts = [
        pseudonymizer.anonymize(
            document["text"],
            [
                Finding(item["start"], item["end"], item["type"], item["score"])
                for item in findings_by_id.get(document["doc_id"], [])
            ],
        )
        for document in documents
    ]
    residual = detect_on_ray(
        anonymized_texts,
        [document["language"] for document in documents],
        supported_languages=SUPPORTED_LANGUAGES,
        score_threshold=DEFAULT_SCORE_THRESHOLD,
        workers=2,
        # The gate reads only direct identifiers; the model is passed to share the pool.
        token_model=token_model.current(),
    )

    cleared: dict[str, list[dict]] = {partition: [] for partition in partitions}
    held_back: dict[str, list[dict]] = {partition: [] for partition in partitions}
    held_types: Counter[str] = Counter()
    for document, text, residual_findings in zip(
        documents, anonymized_texts, residual, strict=True
    ):
        findings = findings_by_id.get(document["doc_id"], [])
        record = {
            "doc_id": document["doc_id"],
            "text": text,
            "language": document["language"],
            "label": document["label"],
            "split": split_of(document["doc_id"]),
            "entity_type_counts": histogram(item["type"] for item in findings),
        }
        verdict = judge(text, residual_findings)
        if verdict.cleared:
            cleared[document["arrival_date"]].append(record)
        else:
            held_types.update(verdict.residual_types)
            held_back[document["arrival_date"]].append(
                {
                    **record,
                    "reason": "residual direct identifiers after anonymization",
                    "residual_types": list(verdict.residual_types),
                }
            )

    for partition in partitions:
        store.write_records(ANONYMIZED, partition, cleared[partition])
        store.write_records(QUARANTINE, partition, held_back[partition])

    total_cleared = sum(len(items) for items in cleared.values())
    total_held = sum(len(items) for items in held_back.values())
    if total_held:
        context.log.warning(
            f"egress gate held back {total_held} of {len(documents)} records "
            f"on-prem (types: {dict(held_types)})"
        )

    yield materialized(
        asset_key=ANONYMIZED,
        metadata={
            "dagster/row_count": total_cleared,
            "held_back_records": total_held,
            "pseudonym_key_fingerprint": keys.pseudonym_key_fingerprint(),
            "holdout_records": sum(
                1 for items in cleared.values() for item in items if item["split"] == "holdout"
            ),
            "duration_seconds": round(time.monotonic() - started, 2),
        },
    )
    yield materialized(
        asset_key=QUARANTINE,
        metadata={
            "dagster/row_count": total_held,
            "residual_types": histogram_table(dict(sorted(held_types.items())), "entity_type"),
        },
    )


@dg.asset_check(
    asset=ANONYMIZED,
    name=RESIDUAL_PII_CHECK,
    blocking=True,
    description="Independent strict scan of every record about to cross to the "
    "cloud: no e-mail, phone, card, IBAN, SSN, NIR or IP may remain.",
)
def residual_pii_gate(
    context: dg.AssetCheckExecutionContext, onprem: OnPremStoreResource
) -> dg.AssetCheckResult:
    protect_logs(context)
    store = onprem.store()
    records = checked_records(context, store, ANONYMIZED)

    residual_types: Counter[str] = Counter()
    failing_records = 0
    for record in records:
        kinds = {identifier.kind for identifier in find_direct_identifiers(record["text"])}
        if kinds:
            failing_records += 1
            residual_types.update(kinds)

    return dg.AssetCheckResult(
        passed=failing_records == 0,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata=check_metadata(
            RESIDUAL_PII_CHECK,
            {
                "records_scanned": len(records),
                "records_with_residual_identifiers": failing_records,
                "residual_types": dict(sorted(residual_types.items())) or "none",
            },
        ),
    )
