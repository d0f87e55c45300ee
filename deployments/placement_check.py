"""Checks loaded Definitions against the placement rule; a violation stops the load."""

import dagster as dg

from hybrid_pipelines.placement import AssetNode, PlacementError, lineage_violations


def asset_nodes(*definitions: dg.Definitions) -> list[AssetNode]:
    """The rule's view of one or more code locations, merged by asset key (a location that
    only declares an asset it reads contributes its tags when no one materializes it)."""
    nodes: dict[str, AssetNode] = {}
    for defs in definitions:
        graph = defs.resolve_asset_graph()
        for node in graph.asset_nodes:
            key = node.key.to_user_string()
            blocking = frozenset(
                check_key.name
                for check_key in node.check_keys
                if graph.get_check_spec(check_key).blocking
            )
            candidate = AssetNode(
                key=key,
                tags=dict(node.tags),
                upstream=tuple(parent.to_user_string() for parent in node.parent_keys),
                blocking_checks=blocking,
            )
            if key not in nodes or node.is_materializable:
                nodes[key] = candidate
    return list(nodes.values())


def enforce_placement(defs: dg.Definitions, *, reads_from: tuple[dg.Definitions, ...] = ()):
    """Raise with every violation when the location breaks the rule; return it otherwise."""
    violations = lineage_violations(asset_nodes(*reads_from, defs))
    if violations:
        raise PlacementError("placement rule violated:\n  - " + "\n  - ".join(violations))
    return defs
