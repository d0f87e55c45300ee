"""The placement rule at definition load: every attack on the graph is refused by name."""

import subprocess
import sys
import textwrap

import dagster as dg
import pytest

from deployments.placement_check import asset_nodes, enforce_placement
from hybrid_pipelines.placement import (
    CLOUD_ANONYMIZED,
    CLOUD_PUBLIC,
    EGRESS_BOUNDARY_TAG,
    LOCATION_TAG,
    ON_PREM_ANONYMIZED,
    ON_PREM_SENSITIVE,
    RESIDUAL_PII_CHECK,
    SENSITIVITY_TAG,
    AssetNode,
    PlacementError,
    lineage_violations,
)

SENSITIVE = ON_PREM_SENSITIVE.tags()
BOUNDARY = {**ON_PREM_ANONYMIZED.tags(), EGRESS_BOUNDARY_TAG: "true"}


@pytest.mark.parametrize(
    ("nodes", "expected"),
    [
        (
            [
                AssetNode("raw", SENSITIVE),
                AssetNode("anon", BOUNDARY, ("raw",), frozenset({RESIDUAL_PII_CHECK})),
                AssetNode("corpus", CLOUD_ANONYMIZED.tags(), ("anon",)),
            ],
            [],
        ),
        (
            [AssetNode("raw", SENSITIVE), AssetNode("corpus", CLOUD_ANONYMIZED.tags(), ("raw",))],
            [
                "cloud asset 'corpus' reads sensitive asset 'raw' (path raw -> corpus)",
                "asset 'corpus' (anonymized) is derived from sensitive asset 'raw'",
            ],
        ),
        (
            [AssetNode("raw", SENSITIVE), AssetNode("anon", BOUNDARY, ("raw",))],
            [
                "asset 'anon' (anonymized) is derived from sensitive asset 'raw' "
                "(path raw -> anon) but is not a declared egress boundary"
            ],
        ),
        (
            [
                AssetNode("raw", SENSITIVE),
                AssetNode(
                    "anon", ON_PREM_ANONYMIZED.tags(), ("raw",), frozenset({RESIDUAL_PII_CHECK})
                ),
            ],
            ["is not a declared egress boundary"],
        ),
        (
            [AssetNode("untagged", {})],
            ["asset 'untagged': tag 'hybrid/location' is None"],
        ),
        (
            [AssetNode("typo", {LOCATION_TAG: "onprem", SENSITIVITY_TAG: "secret"})],
            ["tag 'hybrid/location' is 'onprem'", "tag 'hybrid/sensitivity' is 'secret'"],
        ),
        (
            [AssetNode("leak", {LOCATION_TAG: "cloud", SENSITIVITY_TAG: "sensitive"})],
            ["asset 'leak' is sensitive but placed in the cloud"],
        ),
        (
            [AssetNode("model", CLOUD_PUBLIC.tags(), ("somewhere_else",))],
            ["reads 'somewhere_else', which no code location declares"],
        ),
    ],
)
def test_lineage_rule(nodes, expected):
    violations = lineage_violations(nodes)

    assert bool(violations) == bool(expected)
    for fragment in expected:
        assert any(fragment in violation for violation in violations), (fragment, violations)


def _tagged(placement, **extra):
    return {**placement.tags(), **extra}


def test_definitions_with_a_cloud_asset_reading_raw_data_do_not_load():
    @dg.asset(tags=_tagged(ON_PREM_SENSITIVE))
    def raw_documents() -> None: ...

    @dg.asset(deps=[raw_documents], tags=_tagged(CLOUD_ANONYMIZED))
    def shortcut_to_the_cloud() -> None: ...

    with pytest.raises(PlacementError) as refusal:
        enforce_placement(dg.Definitions(assets=[raw_documents, shortcut_to_the_cloud]))

    assert "raw_documents -> shortcut_to_the_cloud" in str(refusal.value)


def test_an_egress_boundary_needs_a_blocking_residual_pii_check():
    @dg.asset(tags=_tagged(ON_PREM_SENSITIVE))
    def raw_documents() -> None: ...

    @dg.asset(
        deps=[raw_documents], tags=_tagged(ON_PREM_ANONYMIZED, **{EGRESS_BOUNDARY_TAG: "true"})
    )
    def masked() -> None: ...

    @dg.asset_check(asset=masked, name=RESIDUAL_PII_CHECK, blocking=False)
    def advisory_only() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=True)

    with pytest.raises(PlacementError, match="blocking 'residual_pii_gate'"):
        enforce_placement(
            dg.Definitions(assets=[raw_documents, masked], asset_checks=[advisory_only])
        )

    @dg.asset_check(asset=masked, name=RESIDUAL_PII_CHECK, blocking=True)
    def gate() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=True)

    enforce_placement(dg.Definitions(assets=[raw_documents, masked], asset_checks=[gate]))


def test_both_code_locations_load_and_agree_on_shared_assets(tmp_path, monkeypatch):
    monkeypatch.setenv("HYBRID_HOME", str(tmp_path))
    from deployments import cloud, edge
    from deployments.settings import load_settings

    settings = load_settings(tmp_path)
    edge_defs = edge.build_definitions(settings)
    cloud_defs = cloud.build_definitions(settings)

    edge_nodes = {node.key: node for node in asset_nodes(edge_defs)}
    cloud_nodes = {node.key: node for node in asset_nodes(cloud_defs)}
    for key in edge_nodes.keys() & cloud_nodes.keys():
        placement = {LOCATION_TAG, SENSITIVITY_TAG}
        assert {tag: edge_nodes[key].tags[tag] for tag in placement} == {
            tag: cloud_nodes[key].tags[tag] for tag in placement
        }, key
    assert "training_corpus" in edge_nodes and "training_corpus" in cloud_nodes
    assert edge_nodes["anonymized_documents"].blocking_checks == {RESIDUAL_PII_CHECK}
    assert lineage_violations(asset_nodes(cloud_defs, edge_defs)) == []

    expected_lineage = {
        "pii_findings": {"raw_documents", "pii_token_model"},
        "anonymized_documents": {"pii_findings", "raw_documents"},
        "training_corpus": {"anonymized_documents"},
        "document_routing": {"anonymized_documents", "egress_quarantine", "edge_model"},
        "edge_model": {"candidate_evaluation"},
    }
    for key, parents in expected_lineage.items():
        assert set(edge_nodes[key].upstream) == parents
    assert set(cloud_nodes["sensitivity_model_candidate"].upstream) == {"training_corpus"}


def _validate(module_dir, module: str, home) -> subprocess.CompletedProcess:
    dagster = [sys.executable, "-m", "dagster", "definitions", "validate", "-m", module]
    environment = {
        "PATH": "/usr/bin:/bin",
        "HYBRID_HOME": str(home),
        "DAGSTER_HOME": str(home),
        "PYTHONPATH": str(module_dir),
    }
    return subprocess.run(
        dagster, capture_output=True, text=True, env=environment, cwd=module_dir, timeout=180
    )


@pytest.mark.slow
def test_dagster_definitions_validate_fails_on_a_violation(tmp_path):
    (tmp_path / "home").mkdir()
    (tmp_path / "leaky_location.py").write_text(
        textwrap.dedent("""
        import dagster as dg
        from deployments.placement_check import enforce_placement
        from hybrid_pipelines.placement import CLOUD_ANONYMIZED, ON_PREM_SENSITIVE

        @dg.asset(tags=ON_PREM_SENSITIVE.tags())
        def raw_documents() -> None: ...

        @dg.asset(deps=[raw_documents], tags=CLOUD_ANONYMIZED.tags())
        def leaked_corpus() -> None: ...

        defs = enforce_placement(dg.Definitions(assets=[raw_documents, leaked_corpus]))
    """)
    )

    refused = _validate(tmp_path, "leaky_location", tmp_path / "home")
    accepted = _validate(tmp_path, "deployments.edge", tmp_path / "home")

    assert refused.returncode != 0
    assert "raw_documents -> leaked_corpus" in refused.stdout + refused.stderr
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
