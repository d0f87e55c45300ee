"""What every stage shares: partitions, placement tags, owners and metadata helpers."""

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import dagster as dg

from hybrid_pipelines.placement import EGRESS_BOUNDARY_TAG, Placement
from hybrid_pipelines.privacy import RedactingFilter, check_metadata
from hybrid_pipelines.stores import OnPremStore

DAILY_PARTITIONS = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_offset=1)
# A backfill of many days runs as one run, so Ray workers load their models once.
SINGLE_RUN_BACKFILL = dg.BackfillPolicy.single_run()
DATA_OWNERS = ["team:data-platform"]
ML_OWNERS = ["team:ml"]
EDGE_ONLY_OPTIONS = {"hybrid/plane": "on_prem"}


def placement_tags(placement: Placement, *, egress_boundary: bool = False) -> dict[str, str]:
    tags = placement.tags()
    if egress_boundary:
        tags[EGRESS_BOUNDARY_TAG] = "true"
    return tags


def histogram(values: Iterable[str]) -> dict[str, int]:
    return dict(sorted(Counter(values).items()))


def histogram_table(counts: Mapping[str, int], label: str) -> dg.MetadataValue:
    """A two-column table the UI renders readably; labels are types or reasons, never values.
    An empty histogram reads "none" rather than an empty table."""
    if not counts:
        return dg.MetadataValue.text("none")
    return dg.MetadataValue.table(
        records=[dg.TableRecord({label: key, "count": count}) for key, count in counts.items()],
        schema=dg.TableSchema(
            columns=[dg.TableColumn(label, "string"), dg.TableColumn("count", "int")]
        ),
    )


def run_partitions(run_tags: Mapping[str, str], partitions: dg.PartitionsDefinition) -> list[str]:
    """The partition keys a run targets, read from its tags (single key or range)."""
    if "dagster/partition" in run_tags:
        return [run_tags["dagster/partition"]]
    start = run_tags.get("dagster/asset_partition_range_start")
    end = run_tags.get("dagster/asset_partition_range_end")
    if start and end:
        return list(partitions.get_partition_keys_in_range(dg.PartitionKeyRange(start, end)))
    return []


def protect_logs(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> None:
    """Redact direct identifiers from everything this step logs to the Dagster instance."""
    if not any(isinstance(item, RedactingFilter) for item in context.log.filters):
        context.log.addFilter(RedactingFilter())


def materialized(
    *,
    metadata: Mapping[str, object],
    asset_key: str | None = None,
    configured: Sequence[str] = (),
) -> dg.MaterializeResult:
    """A MaterializeResult whose metadata passed the privacy check (no free text, no
    identifiers); `configured` as in `check_metadata`."""
    owner = f"asset {asset_key!r}" if asset_key else "this asset"
    return dg.MaterializeResult(
        asset_key=asset_key, metadata=check_metadata(owner, metadata, configured)
    )


def checked_records(
    context: dg.AssetCheckExecutionContext, store: OnPremStore, asset: str
) -> list[dict]:
    """The records a check covers: those of its run's partitions, or of every stored
    partition outside a partitioned run."""
    partitions = run_partitions(context.run.tags, DAILY_PARTITIONS) or store.partitions(asset)
    return store.read_partitions(asset, partitions)
