"""A backfill of several days is one run and one Ray job, and each day gets its partition."""

import dagster as dg
import pytest

from hybrid_pipelines.cli import prepare_home

pytestmark = pytest.mark.slow

DAYS = ["2025-03-01", "2025-03-02", "2025-03-03"]


def test_a_range_of_days_is_one_run_with_every_partition(tmp_path, monkeypatch):
    inbox, home = tmp_path / "inbox", tmp_path / "home"
    for number, day in enumerate(DAYS):
        (inbox / day).mkdir(parents=True)
        (inbox / day / "note.txt").write_text(
            f"Ticket {number}: the printer on floor {number + 2} is jammed again."
        )
        (inbox / day / "mail.jsonl").write_text(
            f'{{"text": "Call Jean Martin on 06 1{number} 22 33 44 about the contract.",'
            ' "label": "sensitive"}\n'
        )
    for variable in ("HYBRID_HOME", "DAGSTER_HOME", "HYBRID_INBOX"):
        monkeypatch.setenv(variable, "")
    prepare_home(home, inbox)

    from deployments import edge
    from deployments.settings import load_settings

    instance = dg.DagsterInstance.get()
    defs = edge.build_definitions(load_settings(home, inbox))
    result = defs.resolve_job_def("edge_ingest_job").execute_in_process(
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": DAYS[0],
            "dagster/asset_partition_range_end": DAYS[-1],
        },
    )

    assert result.success
    assert len(instance.get_runs()) == 1
    detection_steps = [
        event
        for event in result.all_events
        if event.event_type_value == "STEP_START" and event.step_key == "pii_findings"
    ]
    assert len(detection_steps) == 1
    for asset in ("raw_documents", "pii_findings", "anonymized_documents", "training_corpus"):
        materialized = {
            event.partition
            for event in result.get_asset_materialization_events()
            if event.asset_key == dg.AssetKey(asset)
        }
        assert materialized == set(DAYS), asset
    audit = (home / "onprem" / "egress_audit.jsonl").read_text().splitlines()
    assert len(audit) == len(DAYS)


def test_local_ray_starts_again_in_the_same_process(tmp_path):
    """A long-lived process (the in-process executor, the CLI) may start local Ray twice;
    the second cluster must accept the driver, whose auth token is the first one's."""
    import ray

    from hybrid_pipelines.distributed import air_gapped_ray_home

    answers = []
    for attempt in range(2):
        with air_gapped_ray_home(tmp_path / f"ray-home-{attempt}"):
            ray.init(
                num_cpus=1,
                include_dashboard=False,
                log_to_driver=False,
                _node_ip_address="127.0.0.1",
            )
        try:
            answers.append(ray.get(ray.remote(lambda: 6 * 7).remote()))
        finally:
            ray.shutdown()

    assert answers == [42, 42]
