"""Dagster assets, one module per pipeline stage."""

import warnings

# Single-run backfills are what make a backfill one Ray job; the flag is still marked beta.
warnings.filterwarnings("ignore", message=".*backfill_policy.*is currently in beta")
