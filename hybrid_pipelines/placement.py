"""Where each asset may live and how sensitive it is, and the lineage rule between them.

Pure functions over a small graph description, so the rule is checked the same way by
the Dagster definitions, the test suite and any other tool.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

LOCATION_TAG = "hybrid/location"
SENSITIVITY_TAG = "hybrid/sensitivity"
EGRESS_BOUNDARY_TAG = "hybrid/egress_boundary"
RESIDUAL_PII_CHECK = "residual_pii_gate"


class Location(StrEnum):
    ON_PREM = "on_prem"
    CLOUD = "cloud"


class Sensitivity(StrEnum):
    SENSITIVE = "sensitive"
    ANONYMIZED = "anonymized"
    PUBLIC = "public"


class PlacementError(ValueError):
    """An asset graph or a write breaks the placement rule."""


@dataclass(frozen=True)
class Placement:
    location: Location
    sensitivity: Sensitivity

    def tags(self) -> dict[str, str]:
        return {LOCATION_TAG: self.location.value, SENSITIVITY_TAG: self.sensitivity.value}


ON_PREM_SENSITIVE = Placement(Location.ON_PREM, Sensitivity.SENSITIVE)
ON_PREM_ANONYMIZED = Placement(Location.ON_PREM, Sensitivity.ANONYMIZED)
ON_PREM_PUBLIC = Placement(Location.ON_PREM, Sensitivity.PUBLIC)
CLOUD_ANONYMIZED = Placement(Location.CLOUD, Sensitivity.ANONYMIZED)
CLOUD_PUBLIC = Placement(Location.CLOUD, Sensitivity.PUBLIC)


@dataclass(frozen=True)
class AssetNode:
    """What the rule needs to know of one asset."""

    key: str
    tags: Mapping[str, str]
    upstream: tuple[str, ...] = ()
    blocking_checks: frozenset[str] = field(default_factory=frozenset)


def placement_from_tags(key: str, tags: Mapping[str, str]) -> Placement:
    """Read an asset's placement from its tags; missing or unknown values are errors."""
    location = tags.get(LOCATION_TAG)
    sensitivity = tags.get(SENSITIVITY_TAG)

    problems = []
    if location not in {item.value for item in Location}:
        problems.append(
            f"tag {LOCATION_TAG!r} is {location!r}, expected one of "
            f"{[item.value for item in Location]}"
        )
    if sensitivity not in {item.value for item in Sensitivity}:
        problems.append(
            f"tag {SENSITIVITY_TAG!r} is {sensitivity!r}, expected one of "
            f"{[item.value for item in Sensitivity]}"
        )
    if problems:
        raise PlacementError(f"asset {key!r}: " + "; ".join(problems))

    return Placement(Location(location), Sensitivity(sensitivity))


def lineage_violations(nodes: Iterable[AssetNode]) -> list[str]:
    """Every breach of the placement rule in a graph, one sentence each.

    Rules:
    - every asset carries a known location and sensitivity;
    - a cloud asset reads only anonymized or public assets, and holds no sensitive data;
    - an anonymized asset whose upstream is sensitive is an egress boundary: it carries the
      egress-boundary tag and a blocking residual-PII check.
    """
    by_key = {node.key: node for node in nodes}
    violations: list[str] = []
    placements: dict[str, Placement] = {}

    for node in by_key.values():
        try:
            placements[node.key] = placement_from_tags(node.key, node.tags)
        except PlacementError as error:
            violations.append(str(error))

    for node in by_key.values():
        placement = placements.get(node.key)
        if placement is None:
            continue

        if placement.location is Location.CLOUD and placement.sensitivity is Sensitivity.SENSITIVE:
            violations.append(f"asset {node.key!r} is sensitive but placed in the cloud")

        for upstream_key in node.upstream:
            upstream = placements.get(upstream_key)
            if upstream is None:
                if upstream_key not in by_key:
                    violations.append(
                        f"asset {node.key!r} reads {upstream_key!r}, which no code location "
                        "declares with placement tags"
                    )
                continue

            if (
                placement.location is Location.CLOUD
                and upstream.sensitivity is Sensitivity.SENSITIVE
            ):
                violations.append(
                    f"cloud asset {node.key!r} reads sensitive asset {upstream_key!r} "
                    f"(path {upstream_key} -> {node.key}); route it through an egress boundary"
                )

            if (
                placement.sensitivity is not Sensitivity.SENSITIVE
                and upstream.sensitivity is Sensitivity.SENSITIVE
            ):
                is_boundary = node.tags.get(EGRESS_BOUNDARY_TAG) == "true"
                gated = RESIDUAL_PII_CHECK in node.blocking_checks
                if not (is_boundary and gated):
                    violations.append(
                        f"asset {node.key!r} ({placement.sensitivity}) is derived from sensitive "
                        f"asset {upstream_key!r} (path {upstream_key} -> {node.key}) but is not a "
                        f"declared egress boundary with a blocking {RESIDUAL_PII_CHECK!r} check"
                    )

    return violations
