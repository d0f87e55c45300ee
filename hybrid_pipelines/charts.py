"""Small text charts for asset metadata: the Dagster UI renders them as markdown, and they
hold numbers and labels only."""

from collections.abc import Mapping, Sequence

BAR_WIDTH = 24
SPARK_LEVELS = "▁▂▃▄▅▆▇█"
CHART_KEY_SUFFIX = "_chart"


def bar_chart(counts: Mapping[str, int | float], title: str) -> str:
    """A horizontal bar per label, longest first."""
    if not counts:
        return f"**{title}**\n\n(none)"
    top = max(counts.values()) or 1
    width = max(len(label) for label in counts)
    lines = [
        f"{label:<{width}} {'█' * max(1, round(BAR_WIDTH * value / top))} {value}"
        for label, value in sorted(counts.items(), key=lambda item: -item[1])
    ]
    return f"**{title}**\n\n```\n" + "\n".join(lines) + "\n```"


def sparkline(values: Sequence[float], title: str) -> str:
    """One character per value, scaled between the minimum and the maximum."""
    if not values:
        return f"**{title}**\n\n(none)"
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    line = "".join(
        SPARK_LEVELS[round((value - low) / span * (len(SPARK_LEVELS) - 1))] for value in values
    )
    return f"**{title}**: {values[0]:.4f} → {values[-1]:.4f}\n\n```\n{line}\n```"
