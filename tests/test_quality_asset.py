"""The detection_quality asset reports figures per entity type, never the labelled text."""

import json

import dagster as dg
import pytest

from assets.quality import detection_quality
from resources.evaluation import EvaluationDatasets, TokenModelFolder

pytestmark = pytest.mark.slow

RECORDS = [
    (
        "Please email maria.lopez@example.com before Friday.",
        "EMAIL_ADDRESS",
        "maria.lopez@example.com",
    ),
    ("Her card 4111 1111 1111 1111 was declined.", "CREDIT_CARD", "4111 1111 1111 1111"),
    ("Call 212-555-0199 for the results.", "PHONE_NUMBER", "212-555-0199"),
    ("The quarterly report is attached.", None, None),
]


def test_detection_quality_reports_per_type_figures(tmp_path):
    dataset = tmp_path / "labelled.json"
    dataset.write_text(
        json.dumps(
            [
                {
                    "full_text": text,
                    "spans": []
                    if kind is None
                    else [
                        {
                            "entity_type": kind,
                            "entity_value": value,
                            "start_position": text.index(value),
                            "end_position": text.index(value) + len(value),
                        }
                    ],
                }
                for text, kind, value in RECORDS
            ]
        )
    )
    instance = dg.DagsterInstance.ephemeral()

    result = dg.materialize(
        [detection_quality],
        instance=instance,
        resources={
            "evaluation": EvaluationDatasets(paths=[str(dataset)]),
            "token_model": TokenModelFolder(path=str(tmp_path / "no-model")),
        },
    )

    [event] = result.get_asset_materialization_events()
    metadata = event.materialization.metadata
    table = {
        record.data["entity_type"]: record.data
        for record in metadata["quality_by_type"].value.records
    }
    assert metadata["texts"].value == 4
    assert metadata["span_recall"].value == 1.0
    assert set(table) >= {"EMAIL_ADDRESS", "CREDIT_CARD", "PHONE_NUMBER"}
    assert table["EMAIL_ADDRESS"]["recall"] == 1.0
    assert "Span recall per entity type" in metadata["recall_by_type_chart"].value
    stored = json.dumps([str(entry.dagster_event) for entry in instance.all_logs(result.run_id)])
    assert "maria.lopez" not in stored and "4111" not in stored


def test_detection_quality_without_datasets_fails_clearly(tmp_path):
    result = dg.materialize(
        [detection_quality],
        raise_on_error=False,
        resources={
            "evaluation": EvaluationDatasets(paths=[]),
            "token_model": TokenModelFolder(path=str(tmp_path / "no-model")),
        },
    )

    assert not result.success
    error = result.get_step_failure_events()[0].step_failure_data.error
    assert "HYBRID_EVAL_DATASETS" in error.to_string()
